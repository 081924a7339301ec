#!/usr/bin/env python3
"""Writes the metadata fuzz seeds beside this script: EXIF blocks with every IFD the rewriter reads (IFD0, EXIF,
interoperability, GPS, IFD1 with a thumbnail, a MakerNote) in both byte orders, and JPEG, PNG and WebP files carrying
EXIF, XMP and a (made-up, 600-byte) ICC profile in each container's way: JPEG APP2 split over two segments, PNG iCCP
and a compressed iTXt, WebP ICCP/EXIF/XMP chunks. Run it again to remake them; the files are committed."""
import base64
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "data")


def write(name, content):
    with open(os.path.join(here, name), "wb") as f:
        f.write(content)


def tiff(order, ifds):
    """ifds: a list of (entries, next) with entries (tag, type, count, value bytes or ("ifd", index)); laid out in
    order, values over 4 bytes after each IFD; next: the index of the next IFD or None."""
    e = "<" if order == b"II" else ">"
    offsets, at = [], 8
    for entries, _ in ifds:
        offsets.append(at)
        at += 2 + 12 * len(entries) + 4 + sum(len(v) + (len(v) & 1) for _, _, _, v in entries
                                              if not isinstance(v, tuple) and len(v) > 4)
    out = order + struct.pack(e + "HI", 42, 8)
    for (entries, nxt), offset in zip(ifds, offsets):
        data_at = offset + 2 + 12 * len(entries) + 4
        table, values = struct.pack(e + "H", len(entries)), b""
        for tag, kind, count, value in entries:
            if isinstance(value, tuple):
                field = struct.pack(e + "I", offsets[value[1]])
            elif len(value) > 4:
                field = struct.pack(e + "I", data_at)
                values += value + b"\0" * (len(value) & 1)
                data_at += len(value) + (len(value) & 1)
            else:
                field = value.ljust(4, b"\0")
            table += struct.pack(e + "HHI", tag, kind, count) + field
        out += table + struct.pack(e + "I", offsets[nxt] if nxt is not None else 0) + values
    return out


def camera_exif(order):
    e = "<" if order == b"II" else ">"
    short = lambda v: struct.pack(e + "H", v)
    long_ = lambda v: struct.pack(e + "I", v)
    ascii_ = lambda s: s.encode() + b"\0"
    thumbnail = b"\xff\xd8\xff\xd9" * 8
    ifd0 = [(0x010F, 2, 8, ascii_("TestCam")), (0x0112, 3, 1, short(6)), (0x013B, 2, 4, ascii_("Art")),
            (0x8298, 2, 6, ascii_("(c) 1")), (0x8769, 4, 1, ("ifd", 1)), (0x8825, 4, 1, ("ifd", 3))]
    exif = [(0x927C, 7, 12, b"MakerNote..."), (0xA002, 4, 1, long_(4000)), (0xA003, 3, 1, short(3000)),
            (0xA005, 4, 1, ("ifd", 2))]
    interop = [(0x0001, 2, 4, ascii_("R98"))]
    gps = [(0x0001, 2, 2, ascii_("N"))]
    ifd1 = [(0x0201, 4, 1, long_(0)), (0x0202, 4, 1, long_(len(thumbnail)))]
    return tiff(order, [(ifd0, 4), (exif, None), (interop, None), (gps, None), (ifd1, None)]) + thumbnail


def chunk(kind, content):
    return struct.pack(">I", len(content)) + kind + content + struct.pack(">I", zlib.crc32(kind + content) & 0xFFFFFFFF)


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


profile = b"\0\0\2\x58lcms\x02\x10\0\0mntrRGB XYZ " + bytes(range(256)) * 2 + b"\0" * 64
xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
exif_ii, exif_mm = camera_exif(b"II"), camera_exif(b"MM")
write("exif_camera_ii.tiff", exif_ii)
write("exif_camera_mm.tiff", exif_mm)

with open(os.path.join(data, "cmyk_64x48.jpg"), "rb") as f:
    jpeg = f.read()
half = len(profile) // 2
app = (segment(0xE1, b"Exif\0\0" + exif_mm) + segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp) +
       segment(0xE2, b"ICC_PROFILE\0\x01\x02" + profile[:half]) + segment(0xE2, b"ICC_PROFILE\0\x02\x02" + profile[half:]))
write("jpeg_exif_xmp_icc.jpg", jpeg[:2] + app + jpeg[2:])

rows = b"".join(b"\0" + bytes((x * 40 + y * 7) & 0xFF for x in range(4 * 3)) for y in range(3))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)) +
       chunk(b"iCCP", b"profile\0\0" + zlib.compress(profile, 9)) + chunk(b"eXIf", exif_ii) +
       chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\0\0\0" + zlib.compress(xmp, 9)) +
       chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
write("png_iccp_exif_itxt.png", png)

# The 1x1 lossless WebP of the header seeds, as VP8X with ICCP, EXIF and XMP chunks and their flags.
vp8l = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
pad = lambda b: b + b"\0" * (len(b) & 1)
body = (b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes([0x2C, 0, 0, 0]) + b"\0\0\0" + b"\0\0\0" +
        b"ICCP" + struct.pack("<I", len(profile)) + pad(profile) + vp8l[12:] +
        b"EXIF" + struct.pack("<I", len(exif_ii)) + pad(exif_ii) + b"XMP " + struct.pack("<I", len(xmp)) + pad(xmp))
write("webp_iccp_exif_xmp.webp", b"RIFF" + struct.pack("<I", len(body)) + body)
