"""Fixtures for the Python client's tests: a real server on a loopback port, and a photo.

IMGPROC_SERVER: the server binary (ctest passes it; tests/python/run_pytest.sh). IMGPROC_TEST_IMAGES: the photos'
folder (default /usr/share/backgrounds/mate, Debian's mate-backgrounds); IMGPROC_TEST_PHOTO: one of them.
"""
import os
import re
import signal
import struct
import subprocess
import threading

import pytest


def server_binary():
    path = os.environ.get("IMGPROC_SERVER")
    if not path:
        pytest.exit("IMGPROC_SERVER must name the imgproc-server binary (ctest sets it)", returncode=2)
    return path


class Server:
    """imgproc-server on 127.0.0.1, port chosen by the system; stop() ends it with SIGTERM and checks its exit."""

    def __init__(self, *flags, host="127.0.0.1"):
        self.process = subprocess.Popen([server_binary(), f"--listen={host}:0", "--backend=cpu", *flags],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.first_line = ""
        for _ in range(50):  # the listening line comes first; lines may carry a timestamp and a level
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on ([0-9.]+:\d+)", line)
            if match:
                self.first_line, self.address = line, match.group(1)
                break
        else:
            line = ""
        if not self.first_line:
            self.process.kill()
            raise AssertionError(f"server did not start: {line!r}")
        # Keeps reading its output, so that a full pipe never blocks it.
        self._drain = threading.Thread(target=self.process.stdout.read, daemon=True)
        self._drain.start()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0
        self._drain.join(timeout=5)
        self.process.stdout.close()


@pytest.fixture(scope="session")
def server():
    s = Server("--metrics_listen=")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def photo():
    folder = os.environ.get("IMGPROC_TEST_IMAGES", "/usr/share/backgrounds/mate")
    with open(os.path.join(folder, os.environ.get("IMGPROC_TEST_PHOTO", "nature/Dune.jpg")), "rb") as f:
        return f.read()


def jpeg_size(data):
    """(width, height) from a JPEG's first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None
