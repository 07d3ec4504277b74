"""The MDS 2.0 provider API through HTTP, a live lockctl and simulated locks, every answer
validated against the official schemas in ../shared/data (see tests/mds_schemas.py)."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rental.api import mds_models
from rental.bootstrap import utc_now
from rental.domain.mds import timestamp
from tests.helpers import CITY, eventually, make_city
from tests.mds_schemas import assert_valid_model, assert_valid_response

OTHER_CITY = "othercity"
ROUTE = [(121.4705, 31.2302), (121.4712, 31.2308), (121.4721, 31.2313)]


# What our OpenAPI document declares for each answer (rental.api.mds_models).
DECLARED = {
    "/vehicles": mds_models.MdsVehiclePage,
    "/vehicles/{device_id}": mds_models.MdsVehicleList,
    "/vehicles/status": mds_models.MdsVehicleStatusPage,
    "/vehicles/status/{device_id}": mds_models.MdsVehicleStatusList,
    "/trips": mds_models.MdsTrips,
    "/telemetry": mds_models.MdsTelemetryList,
    "/events/historical": mds_models.MdsEvents,
    "/events/recent": mds_models.MdsEventPage,
}


def assert_as_declared(path: str, body: dict) -> dict:
    """The answer is what the official schema and our own document say it is."""
    assert_valid_response(path, body)
    DECLARED[path].model_validate(body)
    return body


class Agency:
    """A city's MDS client: its token, and the provider API as it reads it."""

    def __init__(self, system, token: str) -> None:
        self.system = system
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: object):
        return self.system.http.get(
            f"{self.system.url}/mds/v2{path}", params=params, headers=self.headers
        )

    def read(self, path: str, schema_path: str | None = None, **params: object) -> dict:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/vnd.mds+json;version=2.0"
        return assert_as_declared(schema_path or path, answer.json())

    def every_page(self, path: str, key: str, **params: object) -> list[dict]:
        found, answer = [], self.read(path, **params)
        while True:
            found += answer[key]
            next_url = answer["links"]["next"]
            if next_url is None:
                return found
            page = self.system.http.get(next_url, headers=self.headers)
            assert page.status_code == 200, page.text
            answer = assert_as_declared(path, page.json())


def agency_for(system, operator, city: str) -> Agency:
    make_city(system.platform, city)
    client = system.post("/api/v1/ops/mds-clients", {"city_id": city, "name": "DOT"}, operator)
    assert client.status_code == 201, client.text
    return Agency(system, client.json()["token"])


def asset_id(system, code: str) -> str:
    with system.platform.uow() as uow:
        return str(uow.assets.by_code(code).id)


def hour_of(moment_ms: int) -> str:
    return datetime.fromtimestamp(moment_ms / 1000, UTC).strftime("%Y-%m-%dT%H")


@pytest.fixture
def later(system, monkeypatch):
    """Move the platform's clock on, so that the hours just lived are over."""

    def move(by: timedelta) -> None:
        monkeypatch.setattr(system.platform, "now", lambda: utc_now() + by)

    return move


def test_every_answer_is_valid_and_true_to_the_fleet(system, later):
    started = utc_now()
    bikes = [system.bike() for _ in range(5)]
    [(ridden, lock), (riding, _), (reserved, _), (broken, _), (moved, _)] = bikes
    operator = system.operator()
    agency = agency_for(system, operator, CITY)

    rider = system.rider(credit_minor=1000)
    trip_id = system.scan(rider, ridden).json()["id"]
    system.wait_state(rider, trip_id, "active")
    lock.ride(ROUTE, 0.05)
    lock.close()
    system.wait_state(rider, trip_id, "ended")
    other = system.rider(credit_minor=1000)
    system.wait_state(other, system.scan(other, riding).json()["id"], "active")
    hold = {"code": reserved, "idempotency_key": uuid.uuid4().hex}
    assert system.post("/api/v1/reservations", hold, system.rider()).status_code == 201
    assert system.patch(f"/api/v1/ops/assets/{broken}", {"in_service": False}, operator).ok
    for action in ("pick_up", "drop_off"):
        answer = system.post(f"/api/v1/ops/assets/{moved}/rebalance", {"action": action}, operator)
        assert answer.status_code == 200, answer.text

    vehicles = agency.every_page("/vehicles", "vehicles")
    assert sorted(v["vehicle_id"] for v in vehicles) == sorted(code for code, _ in bikes)
    ids = {code: asset_id(system, code) for code, _ in bikes}
    assert {v["device_id"] for v in vehicles} == set(ids.values())  # stable: the asset's id

    statuses = agency.every_page("/vehicles/status", "vehicles_status")
    state = {
        s["device_id"]: (s["last_event"]["vehicle_state"], s["last_event"]["event_types"])
        for s in statuses
    }
    assert state == {
        ids[ridden]: ("available", ["trip_end"]),
        ids[riding]: ("on_trip", ["trip_start"]),
        ids[reserved]: ("reserved", ["reservation_start"]),
        ids[broken]: ("removed", ["maintenance_pick_up"]),
        ids[moved]: ("available", ["provider_drop_off"]),
    }
    one = agency.read(f"/vehicles/status/{ids[riding]}", "/vehicles/status/{device_id}")
    assert one["vehicles_status"][0]["last_telemetry"]["trip_ids"]
    agency.read(f"/vehicles/{ids[ridden]}", "/vehicles/{device_id}")

    window = {"start_time": timestamp(started), "end_time": timestamp(utc_now()) + 1}
    events = agency.every_page("/events/recent", "events", **window)
    mine = [(e["device_id"], e["event_types"][0]) for e in events]
    assert mine.index((ids[ridden], "trip_start")) < mine.index((ids[ridden], "trip_end"))
    assert (ids[moved], "rebalance_pick_up") in mine
    assert (ids[moved], "provider_drop_off") in mine
    hours = sorted({hour_of(e["timestamp"]) for e in events})

    later(timedelta(hours=2))
    trips = [t for hour in hours for t in agency.read("/trips", end_time=hour)["trips"]]
    [trip] = trips  # the ride in progress has not ended
    assert (trip["trip_id"], trip["device_id"]) == (trip_id, ids[ridden])
    assert trip["distance"] > 100 and trip["actual_cost"] == 150
    telemetry = [
        t for hour in hours for t in agency.read("/telemetry", telemetry_time=hour)["telemetry"]
    ]
    assert any(t["trip_ids"] == [trip_id] for t in telemetry)
    historical = [
        e for hour in hours for e in agency.read("/events/historical", event_time=hour)["events"]
    ]
    assert sorted(e["event_id"] for e in historical) == sorted(e["event_id"] for e in events)
    # Riders are never identified: no rider id appears anywhere MDS reaches.
    for answer in (trips, telemetry, historical, statuses):
        assert str(rider.id) not in str(answer) and str(other.id) not in str(answer)


def test_a_city_token_reads_its_own_city_only(system):
    make_city(system.platform, OTHER_CITY)
    ours, _ = system.bike()
    theirs, _ = system.bike(city=OTHER_CITY)
    operator = system.operator()
    agency = agency_for(system, operator, CITY)
    system.patch(f"/api/v1/ops/assets/{theirs}", {"in_service": False}, operator)

    assert [v["vehicle_id"] for v in agency.read("/vehicles")["vehicles"]] == [ours]
    statuses = agency.read("/vehicles/status")["vehicles_status"]
    assert [s["device_id"] for s in statuses] == [asset_id(system, ours)]
    for path in ("/vehicles/", "/vehicles/status/"):
        answer = agency.get(path + asset_id(system, theirs))
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == "vehicle_not_found"
    recent = {
        "start_time": timestamp(utc_now() - timedelta(hours=1)),
        "end_time": timestamp(utc_now()) + 1,
    }
    # Each sees its own city's vehicles' events only (a lock heard late on a busy machine
    # may add a comms event of its own vehicle to either feed).
    our_events = agency.read("/events/recent", **recent)["events"]
    assert {e["device_id"] for e in our_events} <= {asset_id(system, ours)}, our_events
    their_agency = agency_for(system, operator, OTHER_CITY)
    their_events = their_agency.read("/events/recent", **recent)["events"]
    assert {e["device_id"] for e in their_events} == {asset_id(system, theirs)}, their_events
    assert ["maintenance_pick_up"] in [e["event_types"] for e in their_events]
    assert ["maintenance_pick_up"] not in [e["event_types"] for e in our_events]


def test_who_may_not_read(system):
    operator = system.operator()
    system.bike()
    agency = agency_for(system, operator, CITY)
    client_id = system.get("/api/v1/ops/mds-clients", operator).json()["clients"][0]["id"]
    rider = system.rider()

    assert agency.get("/vehicles").status_code == 200
    assert system.http.get(f"{system.url}/mds/v2/vehicles").status_code == 401
    as_rider = system.http.get(f"{system.url}/mds/v2/vehicles", headers=rider.headers)
    assert as_rider.status_code == 401  # a rider's token is no city's
    assert (
        system.post("/api/v1/ops/mds-clients", {"city_id": CITY, "name": "x"}, rider).status_code
        == 403
    )
    newer = agency.system.http.get(
        f"{system.url}/mds/v2/vehicles",
        headers={**agency.headers, "Accept": "application/vnd.mds+json;version=3.0"},
    )
    assert newer.status_code == 406
    assert newer.json()["error"] == "unsupported_version"
    assert (
        system.http.delete(
            f"{system.url}/api/v1/ops/mds-clients/{client_id}", headers=operator.headers
        ).status_code
        == 204
    )

    revoked = agency.get("/vehicles")
    assert revoked.status_code == 401 and revoked.json()["error"] == "token_revoked"


def test_hours_are_served_once_over_and_settled(system, later):
    operator = system.operator()
    agency = agency_for(system, operator, CITY)
    now = utc_now()
    this_hour = now.strftime("%Y-%m-%dT%H")
    # Two hours back: the last hour may still be settling when the clock has just turned.
    settled_hour = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H")

    assert agency.get("/trips", end_time=this_hour).status_code == 404  # not over
    assert agency.get("/trips").status_code == 400
    assert agency.get("/telemetry", telemetry_time="yesterday").status_code == 400
    assert agency.read("/events/historical", event_time=settled_hour)["events"] == []
    later(
        timedelta(hours=1)
        - timedelta(minutes=now.minute, seconds=now.second)
        + timedelta(seconds=30)
    )
    pending = agency.get("/trips", end_time=this_hour)  # over, not settled
    assert pending.status_code == 202
    assert mds_models.MdsTripsPending.model_validate(pending.json()).trips == []
    old = {"start_time": timestamp(now - timedelta(days=20)), "end_time": timestamp(now)}
    assert agency.get("/events/recent", **old).status_code == 400


def test_pages_follow_one_another_without_gaps_or_repeats(system, monkeypatch):
    monkeypatch.setattr(system.platform.config, "MDS_PAGE_SIZE", 2)
    codes = sorted(system.bike()[0] for _ in range(5))
    agency = agency_for(system, system.operator(), CITY)

    operator = system.operator()
    since = timestamp(utc_now())
    for code in codes:
        assert system.patch(f"/api/v1/ops/assets/{code}", {"in_service": False}, operator).ok

    first = agency.read("/vehicles")
    assert len(first["vehicles"]) == 2 and first["links"]["next"].startswith(system.url)
    every = agency.every_page("/vehicles", "vehicles")
    assert sorted(v["vehicle_id"] for v in every) == codes
    assert len(agency.every_page("/vehicles/status", "vehicles_status")) == 5
    window = {"start_time": since, "end_time": timestamp(utc_now()) + 1}
    events = agency.every_page("/events/recent", "events", **window)
    assert len({e["event_id"] for e in events}) == len(events) == 5
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_a_lock_that_drops_off_the_network_is_non_contactable(system):
    code, lock = system.bike()
    agency = agency_for(system, system.operator(), CITY)
    device = asset_id(system, code)

    lock.go_offline()
    system.wait_presence(lock.lock_id, online=False)

    def lost() -> bool:
        [status] = agency.read("/vehicles/status")["vehicles_status"]
        return status["last_event"]["event_types"] == ["comms_lost"]

    eventually(lost, what="comms_lost")
    [status] = agency.read(f"/vehicles/status/{device}", "/vehicles/status/{device_id}")[
        "vehicles_status"
    ]
    assert status["last_event"]["vehicle_state"] == "non_contactable"


def test_the_monthly_report_counts_rides_without_naming_riders(system, later):
    code, lock = system.bike()
    agency = agency_for(system, system.operator(), CITY)
    rider = system.rider(credit_minor=1000)
    rental_id = system.scan(rider, code).json()["id"]
    system.wait_state(rider, rental_id, "active")
    lock.close()
    system.wait_state(rider, rental_id, "ended")
    # Months are the city's (tests.helpers makes it on Shanghai time, UTC+8).
    month = utc_now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")

    assert agency.get(f"/reports/{month}.csv").status_code == 404  # the month is not over
    later(timedelta(days=32))
    answer = agency.get(f"/reports/{month}.csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    report = assert_valid_response("/reports/{filename}", answer.text)
    _, *rows = report.strip().split("\n")
    assert [row.split(",")[5:] for row in rows] == [["bicycle", "-1", "-1"]]  # 1 ride: hidden


def assert_mds_error(answer, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert assert_valid_model("response/error.yaml", answer.json())["error"] == error


def test_hours_and_months_past_what_we_can_represent_name_no_data(system):
    agency = agency_for(system, system.operator(), CITY)
    last_hour = "9999-12-31T23"

    assert_mds_error(agency.get("/trips", end_time=last_hour), 404, "hour_not_past")
    assert_mds_error(agency.get("/events/historical", event_time=last_hour), 404, "hour_not_past")
    # MDS gives /telemetry no 404: an hour not over yet is a bad parameter there.
    assert_mds_error(agency.get("/telemetry", telemetry_time=last_hour), 400, "hour_not_past")
    assert_mds_error(agency.get("/trips", end_time="0000-01-01T00"), 400, "bad_param")
    for month in ("9999-12", "0000-01", "2026-00"):
        assert_mds_error(agency.get(f"/reports/{month}.csv"), 404, "report_not_found")


def test_bad_parameters_are_refused_in_mds_words(system):
    agency = agency_for(system, system.operator(), CITY)

    missing = agency.get("/trips")
    assert_mds_error(missing, 400, "missing_param")
    assert missing.json()["error_description"] == "end_time is required"
    assert_mds_error(agency.get("/trips", end_time="yesterday"), 400, "bad_param")
    assert_mds_error(agency.get("/trips", end_time="2026-02-30T00"), 400, "bad_param")
    assert_mds_error(agency.get("/events/recent", start_time="soon", end_time=1), 400, "bad_param")
    assert_mds_error(agency.get("/vehicles/not-a-uuid"), 400, "bad_param")
    assert_mds_error(agency.get("/vehicles/status", page_after="x"), 400, "bad_param")
    assert_mds_error(agency.get("/reports/latest.csv"), 404, "report_not_found")


def test_recent_events_of_an_empty_or_endless_window(system):
    code, _ = system.bike()
    operator = system.operator()
    agency = agency_for(system, operator, CITY)
    since = timestamp(utc_now())
    assert system.patch(f"/api/v1/ops/assets/{code}", {"in_service": False}, operator).ok

    assert agency.read("/events/recent", start_time=since, end_time=since)["events"] == []
    [taken_out] = agency.read("/events/recent", start_time=since, end_time="1e30")["events"]
    assert taken_out["event_types"] == ["maintenance_pick_up"]
    # JSON Schema's numbers may be written with a point or an exponent.
    as_float = agency.read("/events/recent", start_time=f"{since}.0", end_time="1.0e30")
    assert [e["event_id"] for e in as_float["events"]] == [taken_out["event_id"]]
    later_than_end = {"start_time": since + 1, "end_time": since}
    assert_mds_error(agency.get("/events/recent", **later_than_end), 400, "bad_param")
    assert_mds_error(agency.get("/events/recent", start_time=since), 400, "missing_param")


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.mds+json;version=2.0, application/vnd.mds+json;version=1.0",
        "application/vnd.mds+json;version=1.0;q=0.9, application/vnd.mds+json;version=2.0;q=0.4",
        "application/vnd.mds+json;version=1.0, */*;q=0.1",
        "application/json",
    ],
)
def test_a_client_listing_several_versions_gets_the_one_we_speak(system, accept):
    agency = agency_for(system, system.operator(), CITY)
    answer = system.http.get(
        f"{system.url}/mds/v2/vehicles", headers={**agency.headers, "Accept": accept}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/vnd.mds+json;version=2.0"
    for refused in ("application/vnd.mds+json;version=1.0", "application/vnd.mds+json;q=0, */*"):
        answer = system.http.get(
            f"{system.url}/mds/v2/vehicles", headers={**agency.headers, "Accept": refused}
        )
        assert_mds_error(answer, 406, "unsupported_version")


def test_a_method_a_route_does_not_take_is_answered_405_with_the_methods_it_does(system):
    operator = system.operator()
    agency = agency_for(system, operator, CITY)

    answer = system.http.post(f"{system.url}/mds/v2/trips", headers=agency.headers)
    assert_mds_error(answer, 405, "method_not_allowed")
    assert {"GET", "HEAD", "OPTIONS"} <= set(answer.headers["Allow"].split(", "))
    answer = system.http.put(f"{system.url}/api/v1/ops/mds-clients", headers=operator.headers)
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= set(answer.headers["Allow"].split(", "))
