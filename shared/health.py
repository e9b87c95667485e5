"""GET /api/health: anonymous liveness, no dependency calls."""

from __future__ import annotations

import azure.functions as func

from shared.problems import json_response
from shared.version import VERSION

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"status": "ok", "version": VERSION})
