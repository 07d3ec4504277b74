"""Road distances from an OSRM-style routing service's table API, for operators who run one
(`routing_url` in the fleet's settings): the `RoutingService` the rebalancing runs ask.

`GET {url}/table/v1/{profile}/{lon,lat;...}?sources=..&destinations=..&annotations=distance`
answers `{"code": "Ok", "distances": [[metres or null, ...], ...]}`. A service takes at
most so many coordinates per request (OSRM's `--max-table-size`, 100 by default), so a big
city's table is asked for in blocks of sources by destinations. A service that is down or
answers nonsense raises `DistancesUnavailable`: the run then plans on great circles. Every
distance is checked before the solver sees it: a real, finite number of metres from 0 to
`MAX_ROAD_METRES`, or null; anything else (text, NaN, Infinity, -500, 1e30) is nonsense.
"""

import math
from collections.abc import Sequence

import requests

from rebalancing.distances import DistancesUnavailable, Point
from rebalancing.problem import NO_ARC

# Farther than any truck drives in one night between two sites of one city; far below
# NO_ARC, so that a long road never reads as "no road".
MAX_ROAD_METRES = 1_000_000


class OsrmTable:
    def __init__(
        self,
        url: str,
        profile: str = "driving",
        max_locations: int = 100,
        timeout_seconds: float = 30,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.profile = profile
        self.block = max(1, max_locations // 2)  # sources and destinations share a request
        self.timeout_seconds = timeout_seconds
        self.http = session or requests.Session()

    def matrix(self, points: Sequence[Point]) -> list[list[int]]:
        size = len(points)
        table = [[0] * size for _ in range(size)]
        blocks = [
            range(start, min(start + self.block, size)) for start in range(0, size, self.block)
        ]
        for sources in blocks:
            for destinations in blocks:
                rows = self._block(points, sources, destinations)
                for a, row in zip(sources, rows, strict=True):
                    for b, metres in zip(destinations, row, strict=True):
                        table[a][b] = 0 if a == b else self._checked(metres, a, b)
        return table

    def _checked(self, metres: object, source: int, destination: int) -> int:
        """A distance the solver may use: null (no road between the two, one on an island,
        say) is NO_ARC. Raises DistancesUnavailable for anything but 0..MAX_ROAD_METRES."""
        if metres is None:
            return NO_ARC
        if (
            isinstance(metres, bool)
            or not isinstance(metres, int | float)
            or not math.isfinite(metres)
            or not 0 <= metres <= MAX_ROAD_METRES
        ):
            raise DistancesUnavailable(
                f"{self.url} answered {str(metres)[:40]!r} metres from point {source} to "
                f"point {destination}: not a distance from 0 to {MAX_ROAD_METRES} m"
            )
        return round(metres)

    def _block(
        self, points: Sequence[Point], sources: range, destinations: range
    ) -> list[list[float | None]]:
        same = sources == destinations
        asked = list(sources) if same else [*sources, *destinations]
        coordinates = ";".join(f"{points[i][0]:.6f},{points[i][1]:.6f}" for i in asked)
        firsts = range(len(sources))
        seconds = firsts if same else range(len(sources), len(asked))
        params = {
            "sources": ";".join(map(str, firsts)),
            "destinations": ";".join(map(str, seconds)),
            "annotations": "distance",
        }
        address = f"{self.url}/table/v1/{self.profile}/{coordinates}"
        try:
            answer = self.http.get(address, params=params, timeout=self.timeout_seconds)
            body = answer.json()
        except ValueError as error:  # requests' JSONDecodeError is one
            raise DistancesUnavailable(f"{self.url} answered something other than JSON") from error
        except requests.RequestException as error:
            # The exception's text repeats the whole request; its kind says enough.
            raise DistancesUnavailable(f"{self.url}: {type(error).__name__}") from error
        if not isinstance(body, dict) or body.get("code") != "Ok":
            reason = body.get("message") or body.get("code") if isinstance(body, dict) else None
            raise DistancesUnavailable(f"{self.url} answered {reason or answer.status_code}")
        rows = body.get("distances")
        if (
            not isinstance(rows, list)
            or len(rows) != len(sources)
            or any(not isinstance(row, list) or len(row) != len(destinations) for row in rows)
        ):
            raise DistancesUnavailable(f"{self.url} answered a table of the wrong shape")
        return rows


class OsrmRouting:
    """Each fleet names its own service; a table is made per run."""

    def distances(self, routing_url: str) -> OsrmTable:
        return OsrmTable(routing_url)
