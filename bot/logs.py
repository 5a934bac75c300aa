"""Logging set-up: the bot token never reaches a log line, at any level, from any library."""

from __future__ import annotations

import logging
import traceback

REDACTED = "<token>"


class RedactingFilter(logging.Filter):
    """Replaces secrets in a record's message, arguments, traceback and stack with a marker.

    Installed on handlers (not loggers), so records of every logger that reach them pass
    through it: PTB logs "Set Bot API URL: …/bot<token>" at DEBUG, httpx logs URLs at INFO.
    """

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        # The token, and its secret half on its own (the part before ':' is the bot's id).
        parts = {s for secret in secrets if secret for s in (secret, secret.partition(":")[2])}
        self._secrets = sorted((p for p in parts if len(p) >= 8), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: keep what can be kept
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(*secrets: str, logger: logging.Logger | None = None) -> RedactingFilter:
    """Add a redacting filter to every handler of `logger` (the root logger by default)."""
    redacting = RedactingFilter(*secrets)
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(redacting)
    return redacting
