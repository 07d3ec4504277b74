"""The operator's view of the lock link: alerts, dead letters and dropped fields.

GET  /api/v1/ops/alerts[?city_id]                 open alerts, newest first, and how many
                                                  dead letters wait
GET  /api/v1/ops/dead-letters[?state=open|all][&limit=50][&before_id]
POST /api/v1/ops/dead-letters/{id}/replay         process it again (after fixing its cause)
GET  /api/v1/ops/locks/{lock_id}/problems[?limit=50]  fields a lock sent that were dropped
"""

import base64
import contextlib
from typing import Any

from flask import Blueprint, request

from rental.api.auth import requires
from rental.api.common import platform
from rental.domain.alerts import Alert, DeadLetter
from rental.domain.errors import InvalidInput
from rental.domain.riders import Role
from rental.services import alerts, dead_letters
from rental.services.lock_reports import ReportSettings
from rental.services.ports import LockCommandError

blueprint = Blueprint("lock_health", __name__, url_prefix="/api/v1/ops")
MAX_LIMIT = 500
# Ids are PostgreSQL bigints: a larger number in the path names no letter (404), rather
# than overflowing the query.
MAX_ID = 2**63 - 1


@blueprint.get("/alerts")
@requires(Role.OPERATOR)
def list_alerts() -> dict[str, Any]:
    """`{alerts: [{id, kind, lock_id, asset_code, city_id, detail, opened_at}],
    dead_letters_open}`. Kinds: `latch_open_without_rental`, `misplaced_item`."""
    found, waiting = alerts.open_alerts(platform().uow(), request.args.get("city_id"))
    return {"alerts": [_alert_view(alert) for alert in found], "dead_letters_open": waiting}


@blueprint.get("/dead-letters")
@requires(Role.OPERATOR)
def list_dead_letters() -> dict[str, Any]:
    """Lock messages that could not be processed, newest first, with the reason; the
    payload as text when it is UTF-8, else base64."""
    state = request.args.get("state", "open")
    if state not in ("open", "all"):
        raise InvalidInput("state is open or all", "invalid_state")
    letters = dead_letters.dead_letters(
        platform().uow(),
        open_only=state == "open",
        limit=_limit(),
        before_id=_optional_int("before_id"),
    )
    return {"dead_letters": [_letter_view(letter) for letter in letters]}


@blueprint.post(f"/dead-letters/<int(max={MAX_ID}):letter_id>/replay")
@requires(Role.OPERATOR)
def replay_dead_letter(letter_id: int) -> dict[str, Any]:
    """Process a dead letter again. 409 `replay_refused` (with the reason) when it still
    cannot be, `already_replayed` when it was; 404 when there is no such letter."""
    p = platform()
    settings = ReportSettings(p.config.WALLET_FLOOR_MINOR, p.config.LOW_BATTERY_PCT)
    letter, acknowledgement = dead_letters.replay_dead_letter(
        p.uow, p.report_decoder, letter_id, p.now(), settings
    )
    if acknowledgement is not None:
        # Unsent, the lock resends the event, and the repeat is acknowledged then.
        with contextlib.suppress(LockCommandError):
            p.lock_commands.send(acknowledgement)
    return _letter_view(letter)


@blueprint.get("/locks/<lock_id>/problems")
@requires(Role.OPERATOR)
def lock_problems(lock_id: str) -> dict[str, Any]:
    """Fields this lock sent that failed their checks: `{problems: [{channel, boot, seq,
    dropped: {field: reason}, received_at}]}`, newest first."""
    found = alerts.lock_problems(platform().uow(), lock_id, _limit())
    return {
        "problems": [
            {
                "channel": problem.channel,
                "boot": problem.boot,
                "seq": problem.seq,
                "dropped": dict(problem.dropped),
                "received_at": problem.received_at.isoformat(),
            }
            for problem in found
        ]
    }


def _limit() -> int:
    limit = _optional_int("limit") or 50
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", "invalid_limit")
    return limit


def _optional_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name} must be a positive integer", f"invalid_{name}")
    return int(raw)


def _alert_view(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "lock_id": alert.lock_id,
        "asset_code": alert.asset_code,
        "city_id": alert.city_id,
        "detail": alert.detail,
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


def _letter_view(letter: DeadLetter) -> dict[str, Any]:
    try:
        payload, encoding = letter.payload.decode(), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(letter.payload).decode(), "base64"
    return {
        "id": letter.id,
        "topic": letter.topic,
        "payload": payload,
        "payload_encoding": encoding,
        "reason": letter.reason,
        "received_at": letter.received_at.isoformat(),
        "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
        "replay_outcome": letter.replay_outcome,
    }
