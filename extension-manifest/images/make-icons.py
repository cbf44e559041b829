#!/usr/bin/env python3
"""Draws the extension's icons with the standard library only (zlib + struct, no imaging package):
images/icon.png (128x128, the Marketplace icon) and tasks/<task>/icon.png (32x32, the task icon).

    python3 extension-manifest/images/make-icons.py

The picture: a blue rounded square holding a stack of three agent machines (white bars with a
status light), the middle one being built (amber light). Drawn at 4x and averaged down, so the
edges are smooth.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def inside_rounded(x, y, x0, y0, x1, y1, r):
    """Whether point (x, y) lies in the rounded rectangle [x0, x1) x [y0, y1) with corner radius r."""
    if x < x0 or x >= x1 or y < y0 or y >= y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def shade(x, y, size):
    """RGBA of the picture at (x, y) in a size x size canvas (coordinates in pixels, floats)."""
    s = size / 128.0
    if not inside_rounded(x, y, 4 * s, 4 * s, 124 * s, 124 * s, 22 * s):
        return (0, 0, 0, 0)
    # Background: Azure blue, lighter at the top.
    t = y / size
    r, g, b = (int(0 + 10 * (1 - t)), int(120 - 40 * t + 20 * (1 - t)), int(212 - 50 * t))
    color = (r, g, b, 255)
    bars = [(24, 38), (56, 70), (88, 102)]
    lights = [(60, 200, 90), (255, 185, 0), (60, 200, 90)]
    for (top, bottom), light in zip(bars, lights):
        if inside_rounded(x, y, 24 * s, top * s, 104 * s, bottom * s, 5 * s):
            color = (245, 248, 252, 255)
            # Status light on the right, vents on the left.
            cx, cy = 92 * s, (top + bottom) / 2 * s
            if (x - cx) ** 2 + (y - cy) ** 2 <= (4 * s) ** 2:
                color = light + (255,)
            for vx in (34, 42, 50):
                if inside_rounded(x, y, (vx - 2) * s, (top + 4) * s, (vx + 2) * s, (bottom - 4) * s, 1.5 * s):
                    color = (0, 90, 170, 255)
    return color


def render(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type: none
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = shade(px + (sx + 0.5) / samples, py + (sy + 0.5) / samples, size)
                    # Premultiply so transparent samples do not darken the edges.
                    acc[0] += c[0] * c[3]
                    acc[1] += c[1] * c[3]
                    acc[2] += c[2] * c[3]
                    acc[3] += c[3]
            a = acc[3]
            if a == 0:
                row += bytes(4)
            else:
                row += bytes([acc[0] // a, acc[1] // a, acc[2] // a, a // (samples * samples)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    with open(os.path.join(HERE, "icon.png"), "wb") as f:
        f.write(render(128))
    small = render(32)
    tasks = os.path.join(ROOT, "tasks")
    for name in sorted(os.listdir(tasks)):
        if os.path.exists(os.path.join(tasks, name, "task.json")):
            with open(os.path.join(tasks, name, "icon.png"), "wb") as f:
                f.write(small)


if __name__ == "__main__":
    main()
