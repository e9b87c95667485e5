"""The Power Automate connector's icon, drawn here with the standard library alone.

    python -m dev.connector_icon          # rewrite infra/connector/icon.png
    python -m dev.connector_icon --check  # exit 1 if the committed icon differs

A white key on the connector's brand colour (`iconBrandColor` in apiProperties.json):
230 x 230 pixels, the size Power Automate shows, square, opaque (an RGB PNG has no alpha
channel to be transparent with), the background exactly the brand colour as the
certification guidance asks, and neither white nor the platform's default blue. Edges are
smoothed by drawing each pixel as 4 x 4 samples. The bytes depend on nothing but this file,
so the committed icon can be checked against it.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = ROOT / "infra" / "connector"
ICON = CONNECTOR / "icon.png"
SIZE = 230
SAMPLES = 4
GLYPH = (255, 255, 255)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def brand_colour() -> tuple[int, int, int]:
    properties = json.loads((CONNECTOR / "apiProperties.json").read_text(encoding="utf-8"))
    value = str(properties["properties"]["iconBrandColor"]).lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _in_key(x: float, y: float) -> bool:
    """The key's shape in a 230 x 230 square: a ring (the bow), a shaft and two teeth."""
    ring = math.hypot(x - 78, y - 115)
    if 19 <= ring <= 43:
        return True
    shaft = 118 <= x <= 190 and 105 <= y <= 125
    tooth_near = 150 <= x <= 162 and 125 <= y <= 146
    tooth_far = 174 <= x <= 190 and 125 <= y <= 152
    return shaft or tooth_near or tooth_far


def _pixel(x: int, y: int, background: tuple[int, int, int]) -> bytes:
    step = 1 / SAMPLES
    covered = sum(
        _in_key(x + (i + 0.5) * step, y + (j + 0.5) * step)
        for i in range(SAMPLES)
        for j in range(SAMPLES)
    )
    share = covered / (SAMPLES * SAMPLES)
    return bytes(round(b + (g - b) * share) for b, g in zip(background, GLYPH, strict=True))


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def render() -> bytes:
    background = brand_colour()
    # Each scanline: filter type 0 (none), then RGB triples.
    raw = b"".join(
        b"\x00" + b"".join(_pixel(x, y, background) for x in range(SIZE)) for y in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    icon = render()
    if args.check:
        if not ICON.exists() or ICON.read_bytes() != icon:
            print(f"{ICON.relative_to(ROOT)} is out of date: python -m dev.connector_icon")
            return 1
        return 0
    ICON.write_bytes(icon)
    print(f"wrote {ICON.relative_to(ROOT)} ({len(icon)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
