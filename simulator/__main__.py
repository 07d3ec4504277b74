"""`python -m simulator --fleet FILE [--port 8001] [--resend-s 10]`: run virtual locks
until interrupted."""

import argparse
import logging
import os

from werkzeug.serving import make_server

from rental.adapters.locks.mqtt import BrokerAddress
from simulator.control import create_control_app
from simulator.fleet import HEARTBEAT_SECONDS, Fleet, load_fleet_file
from simulator.lock import Faults
from simulator.outbox import MAX_RESEND_MS
from simulator.simulated_lock import DEFAULT_RESEND_SECONDS


def resend_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_RESEND_MS / 1000:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_RESEND_MS // 1000}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator")
    parser.add_argument(
        "--fleet",
        required=True,
        help="JSON file of what provisioning gave each lock: id, password, key, broker, CA",
    )
    parser.add_argument("--port", type=int, default=8001, help="control API port on 127.0.0.1")
    parser.add_argument(
        "--unlock-delay-ms", type=int, default=0, help="time the latch takes to open"
    )
    parser.add_argument(
        "--heartbeat-s",
        type=float,
        default=HEARTBEAT_SECONDS,
        help="seconds between a parked lock's telemetry reports",
    )
    parser.add_argument(
        "--resend-s",
        type=resend_seconds,
        default=DEFAULT_RESEND_SECONDS,
        help="seconds a lock waits for the platform's ack before it first resends an event "
        "(then twice as long each time, up to 60)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s simulator %(levelname)s %(message)s"
    )

    # For locks whose fleet entry names no broker of its own (older fleet files).
    broker = BrokerAddress.from_settings(os.environ["MQTT_URL"], os.environ.get("MQTT_CA_FILE", ""))
    fleet = Fleet(
        broker,
        load_fleet_file(args.fleet),
        args.heartbeat_s,
        args.fleet,
        resend_seconds=args.resend_s,
    )
    for lock in fleet.locks.values():
        lock.logic.faults = Faults(unlock_delay_ms=args.unlock_delay_ms)
    fleet.start()
    server = make_server("127.0.0.1", args.port, create_control_app(fleet), threaded=True)
    logging.info("control API on http://127.0.0.1:%d/locks", args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()


if __name__ == "__main__":
    main()
