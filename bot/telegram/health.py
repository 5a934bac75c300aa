"""`GET /healthz` on the webhook server, for a load balancer or systemd to ask each worker.

200 with {"database": "ok", "migrations": "current"} when the database answers and this code's
migrations are all applied; 503 with what is wrong otherwise. The route is added to the
tornado application PTB's webhook mode serves (there is no public hook for it), once that
server listens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram.ext import Application

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"

Health = tuple[bool, dict[str, str]]
"""Healthy or not, and the JSON body that says so."""
HealthCheck = Callable[[], Awaitable[Health]]


class HealthHandler(tornado.web.RequestHandler):
    """Answers GET with the check's verdict; never cached."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, check: HealthCheck) -> None:
        self._check = check

    async def get(self) -> None:
        healthy, body = await self._check()
        self.set_status(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        await self.finish(json.dumps(body))


def add_health_route(
    application: Application[Any, Any, Any, Any, Any, Any], check: HealthCheck
) -> bool:
    """Serve HEALTH_PATH beside the webhook; False (and nothing done) when no webhook server
    runs (long polling). Call it once the webhook server has started."""
    updater = application.updater
    # PTB keeps its tornado server private; the route is added to the application it serves.
    server = getattr(updater, "_httpd", None)
    web_app = getattr(getattr(server, "_http_server", None), "request_callback", None)
    if not isinstance(web_app, tornado.web.Application):
        return False
    # A host rule of its own: tornado tries the webhook's rule first, then this one.
    web_app.add_handlers(r".*", [(HEALTH_PATH, HealthHandler, {"check": check})])
    log.info("serving %s on the webhook server", HEALTH_PATH)
    return True
