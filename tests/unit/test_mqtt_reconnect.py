"""The MQTT adapter's reconnect rules, without a broker: the back-off policy, and the
order of things after a CONNACK (subscriptions first, the connect hook after their SUBACK).

The paho callbacks are driven by hand with a stand-in for paho's client."""

import random

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from rental.adapters.locks.mqtt import BrokerAddress, MqttClient, ReconnectBackoff

FILTERS = [("lock/v1/L1/cmd", 1), ("lock/v1/L1/ack", 1)]


def delays(backoff: ReconnectBackoff, count: int) -> list[float]:
    return [backoff.next_delay() for _ in range(count)]


def test_the_first_reconnect_waits_a_random_half_second_to_five_seconds():
    firsts = [ReconnectBackoff(random.Random(seed)).next_delay() for seed in range(500)]
    assert all(0.5 <= delay <= 5.0 for delay in firsts)
    # Spread over the whole range, not bunched: that is what keeps a city's locks apart.
    assert min(firsts) < 0.7 and max(firsts) > 4.8
    assert len({round(delay, 3) for delay in firsts}) > 450


def test_later_reconnects_double_from_one_second_with_twenty_percent_jitter():
    backoff = ReconnectBackoff(random.Random(7))
    [_, *later] = delays(backoff, 8)
    nominals = [1, 2, 4, 8, 16, 32, 60]
    for delay, nominal in zip(later, nominals, strict=True):
        assert 0.8 * nominal <= delay <= 1.2 * nominal


def test_the_wait_is_capped_at_sixty_seconds_give_or_take_the_jitter():
    backoff = ReconnectBackoff(random.Random(1))
    capped = delays(backoff, 1000)[7:]
    assert all(48.0 <= delay <= 72.0 for delay in capped)
    assert min(capped) < 50 and max(capped) > 70  # the jitter is really applied


def test_a_connack_starts_the_back_off_over():
    backoff = ReconnectBackoff(random.Random(3))
    delays(backoff, 10)
    backoff.reset()
    assert backoff.next_delay() <= 5.0
    assert 0.8 <= backoff.next_delay() <= 1.2


def test_the_same_seed_gives_the_same_waits():
    assert delays(ReconnectBackoff(random.Random(5)), 6) == delays(
        ReconnectBackoff(random.Random(5)), 6
    )


class FakePaho:
    """Records what MqttClient asks of paho's client."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def subscribe(self, filters: list[tuple[str, int]]) -> tuple[int, int]:
        self.calls.append(("subscribe", tuple(filters)))
        return 0, 42

    def drop_out_messages(self) -> list[object]:
        self.calls.append(("drop_out_messages",))
        return []

    def reconnect_delay_set(self, min_delay: float, max_delay: float) -> None:
        self.calls.append(("reconnect_delay_set", min_delay, max_delay))


def connack(code: int = 0) -> ReasonCode:
    return ReasonCode(PacketTypes.CONNACK, identifier=code)


def suback(code: int) -> ReasonCode:
    return ReasonCode(PacketTypes.SUBACK, identifier=code)


@pytest.fixture
def order() -> list[str]:
    return []


def client(order: list[str], **options) -> MqttClient:
    return MqttClient(
        BrokerAddress("127.0.0.1", 1883),
        "L1",
        on_connect=lambda: order.append("on_connect"),
        on_disconnect=lambda: order.append("on_disconnect"),
        subscriptions=FILTERS,
        **options,
    )


def test_the_client_id_is_the_one_given():
    assert client([]).client_id == "L1"


def test_subscriptions_go_out_at_connack_and_the_hook_waits_for_their_suback(order):
    mqtt, paho = client(order), FakePaho()
    mqtt._handle_connect(paho, None, None, connack(), None)
    assert paho.calls == [("subscribe", tuple(FILTERS))]
    assert order == []  # not online before the broker confirmed the subscriptions
    assert mqtt.is_connected
    mqtt._handle_suback(paho, None, 42, [suback(1), suback(1)], None)
    assert order == ["on_connect"]


def test_a_refused_subscription_is_logged_and_the_client_still_comes_online(order, caplog):
    mqtt, paho = client(order), FakePaho()
    mqtt._handle_connect(paho, None, None, connack(), None)
    mqtt._handle_suback(paho, None, 42, [suback(1), suback(0x87)], None)
    assert order == ["on_connect"]
    assert "lock/v1/L1/ack" in caplog.text


def test_a_client_with_its_own_outbox_drops_pahos_unacknowledged_messages(order):
    mqtt, paho = client(order, redeliver_after_reconnect=False), FakePaho()
    mqtt._handle_connect(paho, None, None, connack(), None)
    assert paho.calls[0] == ("drop_out_messages",)
    default, paho = client(order), FakePaho()
    default._handle_connect(paho, None, None, connack(), None)
    assert ("drop_out_messages",) not in paho.calls


def test_our_back_off_is_handed_to_paho_before_each_wait_and_reset_by_a_connack(order):
    mqtt = client(order, reconnect_backoff=ReconnectBackoff(random.Random(11)))
    paho = FakePaho()
    lost = ReasonCode(PacketTypes.DISCONNECT, identifier=0x80)
    mqtt._handle_disconnect(paho, None, None, lost, None)
    mqtt._handle_connect_fail(paho, None)
    mqtt._handle_connect_fail(paho, None)
    waits = [call[1] for call in paho.calls]
    assert all(call[1] == call[2] for call in paho.calls)  # exactly our delay, no doubling
    assert 0.5 <= waits[0] <= 5.0
    assert 0.8 <= waits[1] <= 1.2 and 1.6 <= waits[2] <= 2.4
    assert order == ["on_disconnect"]

    mqtt._handle_connect(paho, None, None, connack(), None)
    mqtt._handle_disconnect(paho, None, None, lost, None)
    assert paho.calls[-1][1] <= 5.0  # started over


def test_without_a_policy_paho_keeps_its_own_back_off(order):
    mqtt, paho = client(order), FakePaho()
    mqtt._handle_connect_fail(paho, None)
    assert paho.calls == []
