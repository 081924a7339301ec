#!/usr/bin/env python3
"""Writes the header fuzz seeds beside this script: small PNG, WebP and GIF files that reach the header stage's
chunk and block walks, the EXIF orientation of PNG (eXIf) and WebP (EXIF), and its truncation paths.
Run it again to remake them; the files are committed."""
import base64
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def exif_orientation(value):  # big-endian TIFF: header, IFD0 with the Orientation tag alone
    return b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + b"\0" * 4


def png(width, height, extra=b"", iend=True):
    rows = b"".join(b"\0" + bytes((x * 40 + y * 7) & 0xFF for x in range(width * 3)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(rows, 9))
    return out + (chunk(b"IEND", b"") if iend else b"")


write("png_exif_6.png", png(5, 3, chunk(b"eXIf", exif_orientation(6))))
write("png_ztxt.png", png(4, 4, chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * 4096, 9))))
write("png_no_iend.png", png(4, 4, iend=False))

# A 1x1 lossless WebP (the bytes browsers' feature tests use), rewritten as VP8X with an EXIF chunk.
vp8l = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
exif = exif_orientation(8)
body = (b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0]) + b"\0\0\0" + b"\0\0\0" + vp8l[12:] +
        b"EXIF" + struct.pack("<I", len(exif)) + exif)
write("webp_vp8x_exif_8.webp", b"RIFF" + struct.pack("<I", len(body)) + body)

# Two 1x1 frames (the classic 1x1 GIF's image block), cut before the trailer.
screen = b"GIF89a" + struct.pack("<HH", 1, 1) + bytes([0x80, 0, 0]) + b"\0\0\0\xff\xff\xff"
frame = b"\x21\xf9\x04\x01\0\0\0\0" + b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\0" + b"\x02\x02\x44\x01\0"
write("gif_two_frames_no_trailer.gif", screen + frame + frame)
