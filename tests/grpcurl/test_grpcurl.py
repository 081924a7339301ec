#!/usr/bin/env python3
"""grpcurl, a generic client that knows the API only through server reflection, against the real server.

    test_grpcurl.py SERVER_BINARY FETCH_GRPCURL_SCRIPT PHOTO

PHOTO is relative to $IMGPROC_TEST_IMAGES (default /usr/share/backgrounds/mate, Debian's mate-backgrounds).
grpcurl is $IMGPROC_GRPCURL, else where FETCH_GRPCURL_SCRIPT (scripts/fetch-grpcurl.sh) puts it, else on PATH.
Without one the test exits 77, which ctest reports as skipped, unless IMGPROC_GRPCURL or CI is set: scripts/test.sh
fetches grpcurl and sets IMGPROC_GRPCURL, so there a missing grpcurl is a failure, not a skip.
"""
import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import unittest

SERVER, FETCH_SCRIPT = sys.argv[1:3]
PHOTO = os.path.join(os.environ.get("IMGPROC_TEST_IMAGES", "/usr/share/backgrounds/mate"), sys.argv[3])
SKIPPED = 77


def find_grpcurl():
    """(path or None, why not found)."""
    explicit = os.environ.get("IMGPROC_GRPCURL")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit, ""
        return None, f"IMGPROC_GRPCURL={explicit} is not an executable"
    where = subprocess.run([FETCH_SCRIPT, "--where"], capture_output=True, text=True)
    if where.returncode == 0 and where.stdout.strip():
        return where.stdout.strip().splitlines()[-1], ""
    on_path = shutil.which("grpcurl")
    if on_path:
        return on_path, ""
    return None, "grpcurl not found (scripts/fetch-grpcurl.sh fetches it; scripts/test.sh runs that)"


def jpeg_size(data):
    """(width, height) from a JPEG's first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no start-of-frame marker")


def png_size(data):
    """(width, height) from a PNG's IHDR, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"not a PNG: {data[:8]!r}"
    return struct.unpack(">II", data[16:24])


class GrpcurlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = subprocess.Popen([SERVER, "--listen=127.0.0.1:0", "--metrics_listen=", "--backend=cpu",
                                       "--cpu_workers=1"], stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        match = re.search(r"listening on ([0-9.]+:\d+)", line)
        if not match:
            cls.server.kill()
            raise AssertionError(f"server did not start: {line!r}")
        cls.address = match.group(1)

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGTERM)
        assert cls.server.wait(timeout=30) == 0

    def grpcurl(self, method, request=None):
        """(exit code, stdout, stderr) of one call; the request is JSON on stdin, as grpcurl reads it."""
        args = [GRPCURL, "-plaintext", "-max-time", "60", "-max-msg-sz", str(64 << 20)]
        if request is not None:
            args += ["-d", "@"]
        done = subprocess.run(args + [self.address, method], input=None if request is None else json.dumps(request),
                              capture_output=True, text=True, timeout=90)
        return done.returncode, done.stdout, done.stderr

    def call(self, method, request=None):
        code, out, err = self.grpcurl(method, request)
        self.assertEqual(code, 0, f"{method}: {err}")
        return json.loads(out)

    def test_health_check_serves_the_server_and_the_service(self):
        for service in ("", "imgproc.v1.ImageProcessorService"):
            with self.subTest(service=service):
                answer = self.call("grpc.health.v1.Health/Check", {"service": service})
                self.assertEqual(answer, {"status": "SERVING"})

    def test_server_info_describes_the_cpu_backend_and_its_limits(self):
        info = self.call("imgproc.v1.ImageProcessorService/GetServerInfo")
        self.assertEqual(info["backend"], "BACKEND_CPU")  # enums are their value's name in JSON
        self.assertEqual([d["name"] for d in info["devices"]], ["cpu"])
        self.assertEqual(info["devices"][0]["workers"], 1)
        self.assertEqual(info["limits"]["max_input_bytes"], str(64 << 20))  # int64 is a JSON string
        self.assertIn("resize", {op["name"] for op in info["operations"]})

    def test_process_resizes_a_photo_sent_as_base64(self):
        with open(PHOTO, "rb") as f:
            photo = f.read()
        width, height = jpeg_size(photo)
        request = {
            "request_id": "grpcurl-1",
            "image": base64.b64encode(photo).decode(),
            "operations": [{"resize": {"width": 320, "keep_aspect": True}}],
            "output": {"png": {}},
        }
        answer = self.call("imgproc.v1.ImageProcessorService/Process", request)
        expected = (320, round(height * 320 / width))
        self.assertEqual(answer["request_id"], "grpcurl-1")
        self.assertEqual((answer["width"], answer["height"]), expected)
        self.assertEqual(answer["channels"], 3)
        self.assertEqual(answer["format"], "IMAGE_FORMAT_PNG")
        self.assertEqual(png_size(base64.b64decode(answer["image"])), expected)

    def test_an_empty_image_is_invalid_argument(self):
        code, _, err = self.grpcurl("imgproc.v1.ImageProcessorService/Process", {"image": ""})
        self.assertEqual(code, 64 + 3, err)  # grpcurl exits 64 + the status code; INVALID_ARGUMENT is 3
        self.assertIn("image is empty", err)


if __name__ == "__main__":
    GRPCURL, why = find_grpcurl()
    if GRPCURL is None:
        if os.environ.get("IMGPROC_GRPCURL") or os.environ.get("CI"):
            print(f"FAILED: {why}; required here (IMGPROC_GRPCURL or CI is set)")
            sys.exit(1)
        print(f"skipped: {why}")
        sys.exit(SKIPPED)
    print(f"grpcurl: {GRPCURL}")
    unittest.main(argv=sys.argv[:1], verbosity=2)
