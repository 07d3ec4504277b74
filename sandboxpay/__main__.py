"""`python -m sandboxpay --port 8002 --secret-file FILE`: the sandbox gateway on loopback."""

import argparse
import contextlib
import logging
from pathlib import Path

from werkzeug.serving import make_server

from sandboxpay.server import create_gateway_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxpay")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--secret-file", required=True, help="the merchant's shared secret")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s sandboxpay %(levelname)s %(message)s"
    )
    secret = Path(args.secret_file).read_text().strip().encode()
    server = make_server("127.0.0.1", args.port, create_gateway_app(secret), threaded=True)
    logging.info("sandbox gateway on http://127.0.0.1:%d", args.port)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
