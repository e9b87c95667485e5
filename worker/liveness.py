"""GET /api/health: anonymous liveness, no dependency calls."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.http_edge import Edge
from shared.problems import json_response
from shared.version import VERSION

EDGE = Edge(logging.getLogger("health"), refused="health refused", during="health check")


def blueprint() -> func.Blueprint:
    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # untyped in azure-functions

    @bp.function_name("health")
    @bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def health(req: func.HttpRequest) -> func.HttpResponse:
        return EDGE.answer(req, lambda _: json_response({"status": "ok", "version": VERSION}))

    return bp
