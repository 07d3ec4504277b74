"""How the platform serves its web pages: a strict Content-Security-Policy that admits the
configured tile server and nothing else, the front-end libraries from web/, and nothing
beyond them, compressed where the browser accepts it."""

import brotli
import pytest
from backports import zstd

from rental.app import create_app

TILES = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"


def test_pages_allow_scripts_from_here_and_images_from_the_tile_server(platform):
    client = create_app({"MAP_TILE_URL": TILES}, platform=platform).test_client()

    page = client.get("/ops/")

    policy = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and b'src="/web/ops/console.js"' in page.data
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "img-src 'self' data: blob: https://*.tiles.example.org;" in policy
    assert client.get("/web-config.json").json["tile_url"] == TILES


def test_only_the_listed_front_end_packages_are_served(platform):
    client = create_app({"MAP_TILE_URL": ""}, platform=platform).test_client()

    leaflet = client.get("/vendor/leaflet/leaflet.js")
    other = client.get("/vendor/left-pad/index.js")
    outside = client.get("/vendor/leaflet/../../package.json")

    assert leaflet.status_code == 200 and b"Leaflet" in leaflet.data[:400]
    assert other.status_code == 404 and other.json["error"]["code"] == "not_found"
    assert outside.status_code == 404
    policy = client.get("/ops/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in policy


def test_the_rider_app_is_installable_from_its_own_scope(platform):
    client = create_app({"MAP_TILE_URL": ""}, platform=platform).test_client()

    page = client.get("/app/")
    manifest = client.get("/app/manifest.webmanifest")
    worker = client.get("/app/sw.js")

    assert page.status_code == 200 and b'rel="manifest"' in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"].startswith("/app/") and manifest.json["scope"] == "/app/"
    sizes = {icon["sizes"] for icon in manifest.json["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest.json["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert worker.mimetype == "text/javascript" and b'addEventListener("fetch"' in worker.data
    assert client.get("/vendor/jsqr/jsQR.js").status_code == 200
    assert client.get("/web-config.json").json["center"] == {"lon": 121.4737, "lat": 31.2304}


def test_a_map_centre_that_is_no_position_falls_back_to_the_demo_city(platform):
    for setting in ("nowhere", "121.5", "200,95"):
        client = create_app({"MAP_CENTER": setting}, platform=platform).test_client()
        assert client.get("/web-config.json").json["center"] == {"lon": 121.4737, "lat": 31.2304}
    client = create_app({"MAP_CENTER": "116.397,39.909"}, platform=platform).test_client()
    assert client.get("/web-config.json").json["center"] == {"lon": 116.397, "lat": 39.909}


@pytest.mark.parametrize(
    ("accepted", "encoding"), [("gzip, deflate, br, zstd", "zstd"), ("br", "br")]
)
def test_the_pages_files_go_compressed_as_the_browser_accepts_and_the_api_does_not(
    platform, accepted, encoding
):
    client = create_app({"RATELIMIT_ENABLED": False}, platform=platform).test_client()
    plain = client.get("/vendor/leaflet/leaflet.js").data
    wanted = {"Accept-Encoding": accepted}

    packed = client.get("/vendor/leaflet/leaflet.js", headers=wanted)
    answer = client.get("/api/v1/cities", headers=wanted)

    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert decompress(encoding, packed.data) == plain
    assert len(packed.data) < len(plain) / 2
    assert "Content-Encoding" not in answer.headers and answer.status_code == 200


def decompress(encoding: str, data: bytes) -> bytes:
    if encoding == "br":
        return brotli.decompress(data)
    return zstd.decompress(data)
