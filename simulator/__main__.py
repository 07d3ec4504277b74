"""`python -m simulator --fleet FILE [--port 8001]`: run virtual locks until interrupted."""

import argparse
import logging
import os

from werkzeug.serving import make_server

from lockctl.mqtt import BrokerAddress
from simulator.control import create_control_app
from simulator.fleet import HEARTBEAT_SECONDS, Fleet, load_fleet_file
from simulator.lock import Faults


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator")
    parser.add_argument("--fleet", required=True, help="JSON file of lock ids, passwords and keys")
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
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s simulator %(levelname)s %(message)s"
    )

    broker = BrokerAddress.from_url(os.environ["MQTT_URL"])
    fleet = Fleet(broker, load_fleet_file(args.fleet), args.heartbeat_s, args.fleet)
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
