"""Operators confirm what riders did; the credit score moves once per incident and explains
itself, in memory."""

import uuid
from datetime import timedelta

import pytest

from rental.domain.credit import CreditReason
from rental.domain.errors import NotFound
from rental.domain.riders import Role
from rental.services import credit
from rental.services.commands.riders import RecordIncident
from tests.unit.fakes.world import World


@pytest.fixture
def world() -> World:
    return World()


def test_a_confirmed_incident_lowers_the_score_once_per_reference(world):
    rider = world.rider()
    damage = RecordIncident(rider.id, CreditReason.DAMAGE, "report-0001")
    assert credit.record_confirmed_incident(world.uow(), damage) == 600 - 30
    assert credit.record_confirmed_incident(world.uow(), damage) == 600 - 30
    parking = RecordIncident(rider.id, CreditReason.PARKING_VIOLATION, "report-0002")
    assert credit.record_confirmed_incident(world.uow(), parking) == 600 - 30 - 10


@pytest.mark.parametrize("who", ["nobody", "operator"])
def test_only_riders_have_incidents(world, who):
    rider_id = uuid.uuid4() if who == "nobody" else world.rider(role=Role.OPERATOR).id
    with pytest.raises(NotFound) as missing:
        credit.record_confirmed_incident(
            world.uow(), RecordIncident(rider_id, CreditReason.DAMAGE, "report-0001")
        )
    assert missing.value.code == "rider_not_found"
    assert world.store.credit_events == []


def test_the_report_explains_the_score_newest_first(world):
    rider = world.rider()
    for reason, reference in [
        (CreditReason.DAMAGE, "r-1"),
        (CreditReason.PARKING_VIOLATION, "r-2"),
    ]:
        world.now += timedelta(minutes=1)  # one after the other
        credit.record_confirmed_incident(world.uow(), RecordIncident(rider.id, reason, reference))

    report = credit.credit_report(world.uow(), rider.id)

    assert report.score == 560
    assert [(e.reason, e.delta, e.score_after) for e in report.history] == [
        (CreditReason.PARKING_VIOLATION, -10, 560),
        (CreditReason.DAMAGE, -30, 570),
    ]
    assert report.history[0].at > report.history[1].at


def test_the_score_never_falls_below_its_floor(world):
    rider = world.rider(score=360)
    incident = RecordIncident(rider.id, CreditReason.DAMAGE, "report-0001")
    assert credit.record_confirmed_incident(world.uow(), incident) == 350
    [event] = credit.credit_report(world.uow(), rider.id).history
    assert event.delta == -10  # what it really moved
