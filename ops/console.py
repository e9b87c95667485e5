"""Where the commands' messages go: results to stdout, problems to stderr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Console:
    out: TextIO
    err: TextIO

    def say(self, line: str = "") -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def warn(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()
