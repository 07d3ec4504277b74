"""Logs as JSON lines, one per record, through structlog: the same shape from every
process (the API, lockctl with its sweeper, the nightly rebalancing job, the CLI).

The code keeps logging with the standard library (`logging.getLogger(__name__)`,
%-style arguments, `extra={...}` for fields); structlog's `ProcessorFormatter` renders each
record with the context bound for the current request or message
(`structlog.contextvars.bind_contextvars`: the request id in the API, the lock and command
ids in lockctl). Each line has at least `timestamp` (UTC, ISO 8601), `level`, `logger`,
`process` (which program) and `event` (the message); docs/operations.md lists the rest.
"""

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LEVEL = logging.INFO
# The attribute marking the root handler installed here: set up once per process.
_MARK = "_rental_json_logs"


def configure_logging(
    process: str, *, stream: TextIO | None = None, only_if_unconfigured: bool = False
) -> logging.Handler | None:
    """Send every log record of this process to `stream` (stderr) as one JSON object per
    line, naming the program as `process`. Returns the handler, or None when
    `only_if_unconfigured` and the root logger already had a handler (like
    `logging.basicConfig`: a test runner's capture, or a host application's set-up, wins).

    Called again, it replaces its own handler (never another's)."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, _MARK, False)]
    if only_if_unconfigured and root.handlers and not ours:
        return None
    _configure_structlog()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter(process))
    setattr(handler, _MARK, True)
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVEL)
    return handler


def json_formatter(process: str) -> logging.Formatter:
    """Renders a standard library record, and structlog's own, as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_standard_library_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _Named(process),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def _standard_library_processors() -> list[Processor]:
    """What a standard library record goes through: the bound context, its level, logger
    and time, and the fields passed as `extra`."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _configure_structlog() -> None:
    """structlog's own loggers (`structlog.get_logger()`) go through the standard library's
    handlers too, so that both kinds of line look the same."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class _Named:
    """Adds `process` to every line: which program wrote it, when logs are gathered."""

    def __init__(self, process: str) -> None:
        self._process = process

    def __call__(self, _logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("process", self._process)
        return event


def bound(**fields: Any) -> Any:
    """A context manager binding `fields` to every line logged within it on this thread
    (structlog's contextvars), e.g. `with bound(command_id=...):`."""
    return structlog.contextvars.bound_contextvars(**fields)
