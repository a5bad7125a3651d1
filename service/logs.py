"""Structured logs: one JSON object per line, for the worker, the API and the codec server.

Each line carries what support filters by — the workflow id, the activity, the stage when the
code knows it — and nothing personal. Three rules make that hold by construction:
- messages are written by us with ids, stages and counts as arguments, never models or input;
- the Temporal SDK's loggers put workflow and activity details into fields, not the message;
- an exception is logged as its type and its stack (file, line, function), never its message:
  messages of library errors quote input (pydantic's `input_value=...`, SQL parameters).
`tests/integration/test_privacy.py` runs whole journeys and scans the captured lines.
"""

from __future__ import annotations

import json
import logging
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from service.tracing import current_ids

# Fields taken from the Temporal SDK's `extra` (its workflow and activity logger adapters).
_WORKFLOW_FIELDS = ("workflow_id", "run_id", "workflow_type", "attempt", "update_name")
_ACTIVITY_FIELDS = ("workflow_id", "activity_type", "activity_id", "attempt")
# Ours, passed as `extra={...}` or bound for a whole request (`bind`).
_OWN_FIELDS = ("stage", "registration_id", "client_id", "agency")
_BOUND: ContextVar[dict[str, str]] = ContextVar("gosreg_log_fields", default={})  # noqa: B039 - never mutated


def bind(**fields: str | None) -> None:
    """Put `fields` (ids only: the registration, the calling client) on every line logged from
    here on in this request's task."""
    _BOUND.set({**_BOUND.get(), **{k: v for k, v in fields.items() if v is not None}})


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        temporal_workflow = getattr(record, "temporal_workflow", None) or {}
        for field in _WORKFLOW_FIELDS:
            if field in temporal_workflow:
                line[field] = temporal_workflow[field]
        temporal_activity = getattr(record, "temporal_activity", None) or {}
        for field in _ACTIVITY_FIELDS:
            if field in temporal_activity:
                line[field] = temporal_activity[field]
        bound = _BOUND.get()
        for field in _OWN_FIELDS:
            value = getattr(record, field, None)
            if value is None:
                value = bound.get(field)
            if value is not None:
                line[field] = str(value)
        line.update(current_ids())
        if record.exc_info and record.exc_info[0] is not None:
            error_type, _, trace = record.exc_info
            line["error"] = f"{error_type.__module__}.{error_type.__qualname__}"
            line["stack"] = [
                f"{frame.filename}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(trace)
            ]
        return json.dumps(line, ensure_ascii=False, default=str)


QUIET_PATHS = frozenset({"/metrics", "/health/live", "/health/ready"})
"""Paths that Prometheus and process managers call every few seconds: not access-logged."""


def not_a_probe(record: logging.LogRecord) -> bool:
    """False for uvicorn's access line of a scrape or a probe, whose args are (client,
    method, path, HTTP version, status)."""
    args = record.args
    return not (
        record.name == "uvicorn.access"
        and isinstance(args, tuple)
        and len(args) > 2
        and args[2] in QUIET_PATHS
    )


def without_query(record: logging.LogRecord) -> bool:
    """Drop the query from uvicorn's access line: a link's query holds its one-time token
    (`/set-password?registration=…&token=…`, `/confirm-email?…`). Keeps every line."""
    args = record.args
    if (
        record.name == "uvicorn.access"
        and isinstance(args, tuple)
        and len(args) > 2
        and isinstance(args[2], str)
        and "?" in args[2]
    ):
        record.args = (*args[:2], args[2].partition("?")[0] + "?…", *args[3:])
    return True


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Send every logger's records, as JSON lines, to stderr (but the access lines of
    scrapes and probes, and the queries of the others)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(not_a_probe)
    handler.addFilter(without_query)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per HTTP call to an agency drowns what matters; failures surface as errors.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    keep_temporal_details_out_of_messages()


def keep_temporal_details_out_of_messages() -> None:
    """The SDK appends workflow/activity details to each message; we want them as fields."""
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
