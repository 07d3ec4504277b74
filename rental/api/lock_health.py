"""The operator's view of the lock link: alerts, dead letters and dropped fields.

GET  /api/v1/ops/alerts[?city_id]                 open alerts, newest first, and how many
                                                  dead letters wait
GET  /api/v1/ops/dead-letters[?state=open|all][&limit=50][&before_id]
POST /api/v1/ops/dead-letters/{id}/replay         process it again (after fixing its cause)
GET  /api/v1/ops/locks/{lock_id}/problems[?limit=50]  fields a lock sent that were dropped
"""

import base64
import contextlib
from datetime import datetime
from typing import Annotated, Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    CONFLICT,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    CityId,
    RequestModel,
    explained,
    signed_in,
)
from rental.api.ops import Absent, LockId
from rental.domain.alerts import Alert, AlertKind, DeadLetter
from rental.domain.riders import Role
from rental.services import alerts, dead_letters
from rental.services.lock_reports import ReportSettings
from rental.services.ports import LockCommandError

LOCK_HEALTH = Tag(name="lock health", description="operators: alerts, dead letters, dropped fields")
blueprint = APIBlueprint(
    "lock_health",
    __name__,
    url_prefix="/api/v1/ops",
    abp_tags=[LOCK_HEALTH],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)
MAX_LIMIT = 500
# Dead letters are numbered by a PostgreSQL bigint.
MAX_ID = 2**63 - 1

Limit = Annotated[
    int,
    Field(ge=1, le=MAX_LIMIT, description="how many, newest first"),
    explained(f"limit must be between 1 and {MAX_LIMIT}", "invalid_limit"),
]


class AlertsQuery(RequestModel):
    city_id: CityId | Absent = Field(None, description="one city's alerts; all when absent")


class AlertAnswer(AnswerModel):
    id: int
    kind: AlertKind
    lock_id: str
    asset_code: str | None
    city_id: str | None
    detail: str
    opened_at: datetime
    resolved_at: datetime | None


class OpenAlerts(AnswerModel):
    alerts: list[AlertAnswer] = Field(description="newest first")
    dead_letters_open: int = Field(description="lock messages waiting for an operator")


@blueprint.get("/alerts", responses={200: OpenAlerts})
@signed_in(Role.OPERATOR)
def list_alerts(query: AlertsQuery) -> dict[str, Any]:
    """Open alerts, newest first, and how many dead letters wait.

    Kinds: `latch_open_without_rental`, `misplaced_item`."""
    found, waiting = alerts.open_alerts(platform().lagging_uow(), query.city_id)
    return OpenAlerts(alerts=[_alert(alert) for alert in found], dead_letters_open=waiting).json()


class DeadLettersQuery(RequestModel):
    state: Annotated[Literal["open", "all"], explained("state is open or all", "invalid_state")] = (
        "open"
    )
    limit: Limit = 50
    before_id: (
        Annotated[
            int,
            Field(ge=1, le=MAX_ID, description="only letters older than this one: the next page"),
            explained("before_id must be a positive integer", "invalid_before_id"),
        ]
        | None
    ) = None


class DeadLetterAnswer(AnswerModel):
    id: int
    topic: str
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
    reason: str = Field(description="why it could not be processed")
    received_at: datetime
    replayed_at: datetime | None
    replay_outcome: str | None


class DeadLetters(AnswerModel):
    dead_letters: list[DeadLetterAnswer] = Field(description="newest first")


@blueprint.get("/dead-letters", responses={200: DeadLetters})
@signed_in(Role.OPERATOR)
def list_dead_letters(query: DeadLettersQuery) -> dict[str, Any]:
    """Lock messages that could not be processed, newest first, with the reason.

    The payload is text when it is UTF-8, else base64."""
    letters = dead_letters.dead_letters(
        platform().lagging_uow(),
        open_only=query.state == "open",
        limit=query.limit,
        before_id=query.before_id,
    )
    return DeadLetters(dead_letters=[_letter(letter) for letter in letters]).json()


class LetterPath(RequestModel):
    letter_id: Annotated[
        int,
        Field(ge=1, le=MAX_ID),
        explained(f"letter_id is a dead letter's number, 1 to {MAX_ID}", "invalid_letter_id"),
    ]


@blueprint.post(
    "/dead-letters/<letter_id>/replay",
    responses={200: DeadLetterAnswer, **NOT_FOUND, **CONFLICT},
)
@signed_in(Role.OPERATOR)
def replay_dead_letter(path: LetterPath) -> dict[str, Any]:
    """Process a dead letter again, after fixing its cause.

    409 `replay_refused` (with the reason) when it still cannot be, `already_replayed`
    when it was; 404 when there is no such letter."""
    p = platform()
    settings = ReportSettings(p.config.WALLET_FLOOR_MINOR, p.config.LOW_BATTERY_PCT)
    letter, acknowledgement = dead_letters.replay_dead_letter(
        p.uow, p.report_decoder, path.letter_id, p.now(), settings
    )
    if acknowledgement is not None:
        # Unsent, the lock resends the event, and the repeat is acknowledged then.
        with contextlib.suppress(LockCommandError):
            p.lock_commands.send(acknowledgement)
    return _letter(letter).json()


class LockIdPath(RequestModel):
    lock_id: LockId


class LockProblemsQuery(RequestModel):
    limit: Limit = 50


class LockProblem(AnswerModel):
    channel: str
    boot: int
    seq: int
    dropped: dict[str, str] = Field(description="field -> why it was dropped")
    received_at: datetime


class LockProblems(AnswerModel):
    problems: list[LockProblem] = Field(description="newest first")


@blueprint.get("/locks/<lock_id>/problems", responses={200: LockProblems, **NOT_FOUND})
@signed_in(Role.OPERATOR)
def lock_problems(path: LockIdPath, query: LockProblemsQuery) -> dict[str, Any]:
    """Fields this lock sent that failed their checks, newest first; 404 for no such lock."""
    found = alerts.lock_problems(platform().uow(), path.lock_id, query.limit)
    return LockProblems(
        problems=[
            LockProblem(
                channel=problem.channel,
                boot=problem.boot,
                seq=problem.seq,
                dropped=dict(problem.dropped),
                received_at=problem.received_at,
            )
            for problem in found
        ]
    ).json()


def _alert(alert: Alert) -> AlertAnswer:
    return AlertAnswer(
        id=alert.id,
        kind=alert.kind,
        lock_id=alert.lock_id,
        asset_code=alert.asset_code,
        city_id=alert.city_id,
        detail=alert.detail,
        opened_at=alert.opened_at,
        resolved_at=alert.resolved_at,
    )


def _letter(letter: DeadLetter) -> DeadLetterAnswer:
    encoding: Literal["utf-8", "base64"]
    try:
        payload, encoding = letter.payload.decode(), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(letter.payload).decode(), "base64"
    return DeadLetterAnswer(
        id=letter.id,
        topic=letter.topic,
        payload=payload,
        payload_encoding=encoding,
        reason=letter.reason,
        received_at=letter.received_at,
        replayed_at=letter.replayed_at,
        replay_outcome=letter.replay_outcome,
    )
