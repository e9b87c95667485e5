"""The Power Automate connector's icon and brand colour: a square 230 x 230 PNG, opaque, on a
background of exactly the `iconBrandColor` both connector variants declare, which is a
valid colour and not one the platform refuses (white, or its default #007ee5)."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from dev.connector_icon import ICON, PNG_SIGNATURE, SIZE, render

CONNECTOR = ICON.parent
PROPERTIES = sorted(CONNECTOR.rglob("apiProperties.json"))
REFUSED_COLOURS = {"#ffffff", "#007ee5"}


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data.startswith(PNG_SIGNATURE)
    found, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        found.append((kind, body))
        position += 12 + length
    return found


def pixel(data: bytes, x: int, y: int) -> tuple[int, int, int]:
    parts = chunks(data)
    width = struct.unpack(">I", parts[0][1][:4])[0]
    raw = zlib.decompress(b"".join(body for kind, body in parts if kind == b"IDAT"))
    stride = 1 + width * 3
    row = raw[y * stride : (y + 1) * stride]
    assert row[0] == 0, "only unfiltered scanlines are written"
    r, g, b = row[1 + x * 3 : 4 + x * 3]
    return r, g, b


def brand(path: Path) -> str:
    value = json.loads(path.read_text(encoding="utf-8"))["properties"]["iconBrandColor"]
    assert isinstance(value, str)
    return value


def test_the_icon_is_a_230_pixel_square_opaque_png_under_1_mb() -> None:
    data = ICON.read_bytes()

    kind, header = chunks(data)[0]

    assert kind == b"IHDR"
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert (width, height) == (SIZE, SIZE) == (230, 230)
    assert depth == 8
    assert colour_type == 2, "RGB: no alpha channel, so no transparent pixel"
    assert len(data) < 1024 * 1024


@pytest.mark.parametrize("path", PROPERTIES, ids=lambda p: str(p.relative_to(CONNECTOR)))
def test_every_variant_declares_a_valid_brand_colour_the_platform_accepts(path: Path) -> None:
    colour = brand(path)

    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", colour)
    assert colour.lower() not in REFUSED_COLOURS


def test_the_icon_background_is_the_brand_colour() -> None:
    data = ICON.read_bytes()
    expected = brand(CONNECTOR / "apiProperties.json").lstrip("#")
    rgb = tuple(int(expected[i : i + 2], 16) for i in (0, 2, 4))

    for corner in ((0, 0), (SIZE - 1, 0), (0, SIZE - 1), (SIZE - 1, SIZE - 1)):
        assert pixel(data, *corner) == rgb
    assert pixel(data, 150, 115) == (255, 255, 255), "the key's shaft is white"
    assert {brand(path) for path in PROPERTIES} == {brand(CONNECTOR / "apiProperties.json")}


def test_the_committed_icon_is_what_the_generator_draws() -> None:
    assert ICON.read_bytes() == render(), "python -m dev.connector_icon"


def test_the_readme_imports_the_icon_with_each_variant() -> None:
    readme = (CONNECTOR / "README.md").read_text(encoding="utf-8")

    assert readme.count("--icon /tmp/connector/icon.png") == 2
    assert "--icon-file /tmp/connector/icon.png" in readme
