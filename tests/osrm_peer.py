"""A road-routing service on loopback that answers OSRM's table API the way OSRM does:
its own distances (here: Manhattan metres, so they differ from great circles), `null` where
no road leads, and `TooBig` past its coordinate limit."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

METRES_PER_DEGREE = 100_000
ISLAND_LON = 150.0  # a point east of this has no road to or from anywhere


def road_metres(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    if (a[0] > ISLAND_LON) != (b[0] > ISLAND_LON):
        return None
    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * METRES_PER_DEGREE


class Peer:
    def __init__(self, max_locations: int, odd_distance: object) -> None:
        self.max_locations = max_locations
        self.odd_distance = odd_distance
        self.requests = 0
        self.url = ""


NO_ODDITY = object()


@contextmanager
def osrm_peer(max_locations: int = 100, odd_distance: object = NO_ODDITY) -> Iterator[Peer]:
    """`odd_distance`: what a broken service answers in the last cell of each table's first
    row (Python's json writes inf and nan as Infinity and NaN, as some services do)."""
    peer = Peer(max_locations, odd_distance)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer.requests += 1
            address = urlsplit(self.path)
            *_, coordinates = address.path.split("/")
            points = [tuple(map(float, pair.split(","))) for pair in coordinates.split(";")]
            query = parse_qs(address.query)
            if len(points) > peer.max_locations:
                return self._answer(
                    400, {"code": "TooBig", "message": "Too many table coordinates"}
                )
            sources = [int(i) for i in query["sources"][0].split(";")]
            destinations = [int(i) for i in query["destinations"][0].split(";")]
            table: list[list[object]] = [
                [road_metres(points[s], points[d]) for d in destinations] for s in sources
            ]
            if peer.odd_distance is not NO_ODDITY and len(destinations) > 1:
                table[0][-1] = peer.odd_distance
            self._answer(200, {"code": "Ok", "distances": table})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
