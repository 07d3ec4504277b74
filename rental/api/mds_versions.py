"""Which MDS version a client accepts, from its `Accept` header (HTTP content negotiation,
RFC 9110 section 12.5.1, with MDS's `version` parameter).

MDS names its versions as a parameter of one media type: `application/vnd.mds+json;
version=2.0`. A client may list several, with q values; we serve the one version we speak
when any range it sends covers it with a q above 0. The most specific range decides
(`version=2.0;q=0` refuses 2.0 even beside `*/*`). A header that never names MDS's media
type (`application/json`, none at all) has not asked for a version: MDS's fallback rule
answers such requests with the version we speak.
"""

from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

from rental.domain import mds

# How specific a range is: a named version beats the bare type, which beats wildcards.
EXACT, BARE_TYPE, SUBTYPE_WILDCARD, ANY = 3, 2, 1, 0


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header, as far as MDS cares."""

    media_type: str
    version: str | None
    quality: float

    def names_mds(self) -> bool:
        return self.media_type == mds.MEDIA_TYPE

    def specificity(self) -> int | None:
        """How specifically this range covers our version; None when it does not."""
        if self.media_type == "*/*":
            return ANY
        if self.media_type == "application/*":
            return SUBTYPE_WILDCARD
        if not self.names_mds():
            return None
        if self.version is None:
            return BARE_TYPE
        return EXACT if is_our_version(self.version) else None


def is_our_version(requested: str) -> bool:
    """`2`, `2.0` or `2.0.0` name the version we speak (MDS asks for major.minor)."""
    wanted = requested.strip().split(".")
    return wanted == mds.VERSION.split(".")[: len(wanted)]


def media_ranges(accept: str) -> list[MediaRange]:
    """The header's ranges; werkzeug reads the q values and quoting."""
    ranges = []
    for value, quality in parse_accept_header(accept, MIMEAccept):
        media_type, params = parse_options_header(value)
        ranges.append(MediaRange(media_type.lower(), params.get("version"), quality))
    return ranges


def accepts_our_version(accept: str | None) -> bool:
    """Whether a client sending this `Accept` header may be answered in our MDS version."""
    ranges = media_ranges(accept or "")
    covering = [
        (specificity, r.quality) for r in ranges if (specificity := r.specificity()) is not None
    ]
    if not covering:
        return not any(r.names_mds() for r in ranges)
    _, quality = max(covering)  # the most specific range; of equals, the kindest
    return quality > 0
