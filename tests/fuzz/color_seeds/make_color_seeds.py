#!/usr/bin/env python3
"""Writes the colour fuzz seeds beside this script: small JPEG, PNG and WebP files whose colour information reaches
codec/color_profile's walks (APP2 ICC_PROFILE segments, iCCP, sRGB, gAMA/cHRM, ICCP) and lcms2's parsing, with
colord's profiles (colord-data). fuzz.sh also seeds fuzz_color_profile with the profiles themselves
(/usr/share/color/icc). Run it again to remake them; the files are committed."""
import base64
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
profiles = "/usr/share/color/icc/colord"

# A 16x12 baseline JPEG (libjpeg-turbo, quality 80, 3 components).
TINY_JPEG = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAMABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwBkFlbW0ul+HC4h03SIRqWqSbThW2FlB4z8seX4zneO4qOS7urnRr3VQnlan4luPsdrEXG+C224bAxyFjCoSMfNID1NQvdzXPg7V9Qkdxd6vqiW9xIHbIiZmJRTnIXCBMHI2ZXpW2X8jxpclUDR6JpAktImJKBvKMpYrnqTgEjGQqjtUe1g487W+/zXM/wsjRRmpKEd1/nb89fuP//Z")


def write(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)


def profile(name):
    with open(os.path.join(profiles, name), "rb") as f:
        return f.read()


def jpeg_with_icc(jpeg, icc, pieces):
    size = (len(icc) + pieces - 1) // pieces
    segments = b""
    for k in range(pieces):
        body = b"ICC_PROFILE\0" + bytes([k + 1, pieces]) + icc[k * size:(k + 1) * size]
        segments += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + segments + jpeg[2:]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(extra, width=16, height=12):
    rows = b"".join(b"\0" + bytes((x * 40 + y * 7) & 0xFF for x in range(width * 3)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(rows, 9)) +
            chunk(b"IEND", b""))


def webp_with_icc(icc, width=16, height=12):
    # VP8X (ICC flag) + ICCP + a VP8L image of one colour.
    vp8x = struct.pack("<B3x", 0x20) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\x00\x00\x00\x00\x00"
    def riff_chunk(kind, data):
        return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")
    body = b"WEBP" + riff_chunk(b"VP8X", vp8x) + riff_chunk(b"ICCP", icc) + riff_chunk(b"VP8L", vp8l)
    return b"RIFF" + struct.pack("<I", len(body)) + body


write("jpeg_adobe_rgb_3_segments.jpg", jpeg_with_icc(TINY_JPEG, profile("AdobeRGB1998.icc"), 3))
write("jpeg_prophoto.jpg", jpeg_with_icc(TINY_JPEG, profile("ProPhotoRGB.icc"), 1))
write("png_iccp_rec709.png", png(chunk(b"iCCP", b"Rec709\0\0" + zlib.compress(profile("Rec709.icc"), 9))))
write("png_srgb.png", png(chunk(b"sRGB", b"\0")))
chrm = struct.pack(">8I", 31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000)
write("png_gama_chrm.png", png(chunk(b"gAMA", struct.pack(">I", 55556)) + chunk(b"cHRM", chrm)))
write("webp_iccp_wide_gamut.webp", webp_with_icc(profile("WideGamutRGB.icc")))
