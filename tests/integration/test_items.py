"""Items from cabinets on PostgreSQL: release, return elsewhere, never returned."""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from rental.adapters.locks.protocol import Event, EventType
from rental.adapters.locks.reports import event_reported
from rental.bootstrap import utc_now
from rental.domain.alerts import AlertKind
from rental.domain.errors import Conflict, RentalError
from rental.domain.fleet import AssetKind, Lock
from rental.domain.ledger import AccountKind, AccountRef
from rental.domain.pricing import Tariff
from rental.domain.rentals import RentalState
from rental.domain.zones import Parking
from rental.services import alerts, assets, items
from rental.services import lock_events as reports
from rental.services.commands.assets import RegisterCabinet, RegisterItem
from rental.services.commands.rides import RequestUnlock
from rental.services.rentals import Unlocking, request_unlock
from tests.conftest import new_lock_id
from tests.helpers import CITY, RecordingLockCommands, ago, make_city, make_user, ms

POWER_BANK = Tariff("CNY", 0, 200, 3600, daily_cap_minor=2000, replacement_price_minor=9900)


@pytest.fixture(autouse=True)
def prices(platform):
    make_city(platform)
    with platform.uow() as uow:
        uow.pricing_plans.publish(CITY, "power_bank", POWER_BANK)
        uow.commit()


def cabinet(platform, kind="power_bank", slots=4):
    lock_id = new_lock_id()
    with platform.uow() as uow:
        uow.locks.add(Lock(id=lock_id, signing_key=uuid.uuid4().bytes * 2))
        uow.locks.record_presence(lock_id, True, 1, utc_now())
        uow.commit()
    assets.register_cabinet(platform.uow(), RegisterCabinet(lock_id, CITY, AssetKind(kind), slots))
    return lock_id


def item(platform, cabinet_id, slot, kind="power_bank"):
    code = f"PB{uuid.uuid4().hex[:8]}"
    return assets.register_asset(
        platform.uow(), RegisterItem(code, AssetKind(kind), CITY, cabinet_id, slot)
    )


def rent(platform, asset, rider=None, requested=None):
    rider = rider or make_user(platform, credit_minor=5000)
    channel = RecordingLockCommands()
    rental = request_unlock(
        platform.uow(),
        channel,
        RequestUnlock(rider.id, asset.code, uuid.uuid4().hex),
        requested or ago(3600),
        Unlocking(timedelta(seconds=10)),
    )
    return rider, rental, channel


def event(platform, cabinet_id, seq, kind, age, **fields):
    happened = Event(1, seq, ms(ago(age)), kind, **fields)
    reports.handle_event(platform.uow(), event_reported(cabinet_id, happened, utc_now()))


def released(platform, cabinet_id, rental, age=3590):
    event(
        platform,
        cabinet_id,
        1,
        EventType.RELEASED,
        age,
        cmd_id=str(rental.unlock_command_id),
        slot=rental.slot,
    )


def wallet(platform, rider):
    with platform.uow() as uow:
        return uow.ledger.balance(AccountRef(AccountKind.RIDER_WALLET, "CNY", str(rider.id)))


def test_a_power_bank_released_at_one_cabinet_and_returned_at_another_is_charged_once(platform):
    first, second = cabinet(platform), cabinet(platform)
    power_bank = item(platform, first, 3)
    rider, rental, channel = rent(platform, power_bank)
    assert rental.lock_id == first and rental.slot == 3
    assert channel.sent == [(first, rental.unlock_command_id)]

    released(platform, first, rental)
    with platform.uow() as uow:
        assert uow.rentals.get(rental.id).state is RentalState.ACTIVE
        assert uow.assets.by_code(power_bank.code).cabinet_id is None
    returned = {"slot": 2, "item": power_bank.code}
    event(platform, second, 7, EventType.RETURNED, 10, **returned)
    event(platform, second, 7, EventType.RETURNED, 10, **returned)  # delivered twice

    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        docked = uow.assets.by_code(power_bank.code)
    assert ended.state is RentalState.ENDED
    assert ended.fare_minor == 200  # an hour at 2.00 CNY an hour
    assert wallet(platform, rider) == 5000 - 200
    assert (docked.cabinet_id, docked.slot) == (second, 2)
    assert "cabinet" in ended.parking_message


def test_an_item_pushed_into_a_cabinet_of_another_kind_does_not_end_its_rental_normally(
    platform,
):
    with platform.uow() as uow:  # this city charges for returns to the wrong place
        uow.pricing_plans.publish(
            CITY, "power_bank", replace(POWER_BANK, out_of_zone_fee_minor=500)
        )
        uow.commit()
    home, umbrellas = cabinet(platform), cabinet(platform, kind="umbrella")
    power_bank = item(platform, home, 1)
    rider, rental, _ = rent(platform, power_bank)
    released(platform, home, rental)
    event(platform, umbrellas, 2, EventType.RETURNED, 5, slot=1, item=power_bank.code)
    with platform.uow() as uow:
        ended = uow.rentals.get(rental.id)
        hidden = uow.connection.exec_driver_sql(
            "SELECT needs_retrieval AND NOT in_service FROM assets WHERE id = %(id)s",
            {"id": power_bank.id},
        ).scalar()
    assert ended.state is RentalState.ENDED  # the rider cannot get it out: time stops
    assert ended.parking is Parking.WRONG_CABINET
    assert "umbrella" in ended.parking_message and "power-bank cabinet" in ended.parking_message
    assert ended.fare_minor == 200 + 500
    assert [line.kind for line in ended.receipt_lines()] == ["riding", "wrong_cabinet_fee"]
    assert wallet(platform, rider) == 5000 - 700
    assert hidden  # nobody rents it out of the umbrella cabinet; staff move it
    [alert] = alerts.open_alerts(platform.uow(), CITY)[0]
    assert (alert.kind, alert.lock_id, alert.asset_code) == (
        AlertKind.MISPLACED_ITEM,
        umbrellas,
        power_bank.code,
    )
    # Staff take it out and put it back where it belongs: the alert resolves.
    event(platform, home, 3, EventType.RETURNED, 1, slot=2, item=power_bank.code)
    alerts.reconcile_latches(platform.uow(), utc_now(), 0)
    assert alerts.open_alerts(platform.uow(), CITY)[0] == []


def test_an_item_never_returned_is_charged_its_replacement_price_and_taken_out(platform):
    home = cabinet(platform)
    power_bank = item(platform, home, 1)
    rider, rental, _ = rent(platform, power_bank, requested=ago(6 * 24 * 3600))
    released(platform, home, rental, age=6 * 24 * 3600 - 5)
    assert items.end_unreturned(platform.uow(), utc_now() - timedelta(days=3), 0) == 0

    assert items.end_unreturned(platform.uow(), utc_now(), 0) == 1

    with platform.uow() as uow:
        lost = uow.rentals.get(rental.id)
        asset = uow.assets.get(power_bank.id)
        score = uow.credit.score(rider.id)
    assert lost.state is RentalState.ENDED and lost.unreturned
    assert lost.fare_minor == 9900
    assert wallet(platform, rider) == 0  # 50.00 CNY paid, 49.00 owed
    assert not asset.in_service
    assert score < 600
    assert items.end_unreturned(platform.uow(), utc_now(), 0) == 0


def test_an_item_already_out_cannot_be_scanned_again(platform):
    home = cabinet(platform)
    power_bank = item(platform, home, 1)
    _, rental, _ = rent(platform, power_bank)
    released(platform, home, rental)
    with pytest.raises(Conflict) as refused:
        rent(platform, power_bank)
    assert refused.value.code == "item_not_docked"


def test_items_register_only_in_a_free_slot_of_a_cabinet_of_their_kind(platform):
    home = cabinet(platform)
    item(platform, home, 1)
    for cabinet_id, slot, kind, code in (
        (home, 1, "power_bank", "slot_taken"),
        (home, 1, "umbrella", "wrong_cabinet"),
        (home, 9, "power_bank", "invalid_slot"),
    ):
        with pytest.raises(RentalError) as refused:
            item(platform, cabinet_id, slot, kind)
        assert refused.value.code == code
