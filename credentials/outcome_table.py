"""The `credentialchecks` table: the weekly rotation's checks as its last run left them,
for the daily checks to report again every day.

One row per check the rotation writes: PartitionKey `rotation`, RowKey the check's name
(`rotation`, `token_exchange`, `mfa`), `Status`, `Detail` (our own words, as its
`credentials.health` record said them) and `At` (when the rotation ran). No secret: the
details are the ones the log already carries. Storage that cannot be reached, and a row
that does not read as one we wrote, are `OutcomesUnavailable`, naming the failure's
type only (storage's own text may quote anything).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from azure.core.exceptions import AzureError
from azure.data.tables import TableClient, UpdateMode

from shared.storage import CreatedOnce

TABLE_NAME = "credentialchecks"
PARTITION = "rotation"
KeptStatus = Literal["ok", "warning", "critical"]
_STATUSES: Mapping[str, KeptStatus] = {"ok": "ok", "warning": "warning", "critical": "critical"}
# Table storage holds 32K characters a property; our details are a few hundred.
MAX_DETAIL = 4000


@dataclass(frozen=True)
class KeptCheck:
    name: str
    status: KeptStatus
    detail: str
    # Epoch seconds: when the rotation that wrote it ran.
    at: float


class OutcomesUnavailable(Exception):
    """The table could not be written or read; `kind` names the failure's type."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class OutcomeTable:
    def __init__(self, table: TableClient, *, clock: Callable[[], float]) -> None:
        self._table = table
        self._clock = clock
        # Made by the templates in Azure; made here where missing (Azurite).
        self._created = CreatedOnce(table.create_table)

    def now(self) -> float:
        """Wall-clock time, the one the rows are dated by."""
        return self._clock()

    def close(self) -> None:
        self._table.close()

    def keep(self, checks: Iterable[tuple[str, KeptStatus, str]]) -> None:
        """The checks of a run that just ended, dated now, each replacing its last row."""
        at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            self._created.ensure()
            for name, status, detail in checks:
                entity = {
                    "PartitionKey": PARTITION,
                    "RowKey": name,
                    "Status": status,
                    "Detail": detail[:MAX_DETAIL],
                    "At": at,
                }
                self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise OutcomesUnavailable(type(exc).__name__) from None

    def read(self) -> dict[str, KeptCheck]:
        """Every kept check by name; none before the rotation's first run."""
        try:
            self._created.ensure()
            rows = list(
                self._table.query_entities("PartitionKey eq @p", parameters={"p": PARTITION})
            )
        except AzureError as exc:
            raise OutcomesUnavailable(type(exc).__name__) from None
        kept = [_kept(row) for row in rows]
        return {check.name: check for check in kept}


def _kept(row: Mapping[str, object]) -> KeptCheck:
    name, status, detail, at = (row.get(k) for k in ("RowKey", "Status", "Detail", "At"))
    if not (
        isinstance(name, str)
        and isinstance(status, str)
        and status in _STATUSES
        and isinstance(detail, str)
        and isinstance(at, datetime)
    ):
        # A row we did not write as it stands: tell nothing of it but that.
        raise OutcomesUnavailable("malformed row")
    return KeptCheck(name, _STATUSES[status], detail, at.timestamp())
