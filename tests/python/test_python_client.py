#!/usr/bin/env python3
"""The Python example client against the real server on a loopback port.

    test_python_client.py SERVER_BINARY STUBS_DIR PHOTO

PHOTO is relative to $IMGPROC_TEST_IMAGES (default /usr/share/backgrounds/mate, Debian's mate-backgrounds).
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))
import imgproc_client  # noqa: E402

SERVER, STUBS = sys.argv[1:3]
PHOTO = os.path.join(os.environ.get("IMGPROC_TEST_IMAGES", "/usr/share/backgrounds/mate"), sys.argv[3])


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


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        imgproc_client.load_stubs(STUBS)  # fail before a server process exists
        cls.server = subprocess.Popen([SERVER, "--listen=127.0.0.1:0", "--metrics_listen=", "--backend=cpu"],
                                      stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        match = re.search(r"listening on [0-9.]+:(\d+)", line)
        if not match:
            cls.server.kill()
            raise AssertionError(f"server did not start: {line!r}")
        cls.client = imgproc_client.Client(f"127.0.0.1:{match.group(1)}", STUBS)
        with open(PHOTO, "rb") as f:
            cls.photo = f.read()
        cls.photo_size = jpeg_size(cls.photo)

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGTERM)
        assert cls.server.wait(timeout=30) == 0

    def test_thumbnail_is_a_jpeg_of_the_requested_width(self):
        response = self.client.thumbnail(self.photo, width=640)
        w, h = self.photo_size
        expected = (640, round(h * 640 / w))
        self.assertEqual((response.width, response.height), expected)
        self.assertEqual(jpeg_size(response.image), expected)
        self.assertEqual(response.format, "jpeg")
        self.assertGreater(response.timings.total_us, 0)

    def test_model_input_is_float32_chw(self):
        response = self.client.model_input(self.photo)
        self.assertEqual(len(response.image), 3 * 224 * 224 * 4)
        values = struct.unpack("<8f", response.image[:32])
        self.assertTrue(all(-3.0 < v < 3.0 for v in values), values)
        # 224x224 by area averaging from a photo several times larger: decoded shrunk, unless asked not to.
        self.assertGreater(response.decode_shrink_factor, 1)
        full = self.client.model_input(self.photo, shrink_on_load=False)
        self.assertEqual(full.decode_shrink_factor, 1)
        exact = struct.unpack(f"<{3 * 224 * 224}f", full.image)
        shrunk = struct.unpack(f"<{3 * 224 * 224}f", response.image)
        mean_abs = sum(abs(a - b) for a, b in zip(exact, shrunk)) / len(exact)
        # Normalized by std ~0.226: 0.02 is about one grey level (measured on Dune.jpg: 0.010).
        self.assertLess(mean_abs, 0.02, "the shrunk decode should differ by about half a grey level on average")

    def test_stream_answers_every_request_with_its_id(self):
        pb = self.client.pb
        requests = [pb.ProcessRequest(image=self.photo, request_id=str(i),
                                      operations=[pb.Operation(flip=pb.Flip())]) for i in range(5)]
        requests.append(pb.ProcessRequest(image=b"nonsense", request_id="bad"))
        answers = {r.request_id: r for r in self.client.stream(requests)}
        self.assertEqual(set(answers), {"0", "1", "2", "3", "4", "bad"})
        self.assertEqual(answers["bad"].status_code, 3)  # INVALID_ARGUMENT
        self.assertEqual(answers["3"].status_code, 0)
        self.assertEqual(jpeg_size(answers["3"].response.image), self.photo_size)

    def test_server_info_lists_the_operations(self):
        info = self.client.server_info()
        self.assertEqual(len(info.operations), 22)
        self.assertIn("bilateral_filter", [op.name for op in info.operations])


def make_certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl (Debian's openssl)."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *key, "-days", "2", "-subj", "/CN=imgproc test CA", "-keyout", "ca.key", "-out", "ca.pem")
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(extension + "\n")
        run("req", *key, "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", f"{name}.ext", "-out", f"{name}.pem")


class PythonClientMutualTlsTest(unittest.TestCase):
    def test_a_client_with_its_certificate_is_served_and_one_without_is_refused(self):
        import grpc
        with tempfile.TemporaryDirectory() as d:
            make_certificates(d)
            path = lambda name: os.path.join(d, name)  # noqa: E731
            server = subprocess.Popen([SERVER, "--listen=127.0.0.1:0", "--metrics_listen=", "--backend=cpu",
                                       f"--tls_cert={path('server.pem')}", f"--tls_key={path('server.key')}",
                                       f"--tls_client_ca={path('ca.pem')}"], stdout=subprocess.PIPE, text=True)
            try:
                line = server.stdout.readline()
                match = re.search(r"listening on [0-9.]+:(\d+), mutual TLS", line)
                self.assertIsNotNone(match, line)
                target = f"127.0.0.1:{match.group(1)}"
                client = imgproc_client.Client(target, STUBS, tls_ca=path("ca.pem"), tls_cert=path("client.pem"),
                                               tls_key=path("client.key"))
                self.assertEqual(len(client.server_info().operations), 22)
                anonymous = imgproc_client.Client(target, STUBS, timeout_s=5, tls_ca=path("ca.pem"))
                with self.assertRaises(grpc.RpcError) as refused:
                    anonymous.server_info()
                self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAVAILABLE)
            finally:
                server.send_signal(signal.SIGTERM)
                self.assertEqual(server.wait(timeout=30), 0)


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def requests_answered(metrics_address):
    """Process calls a server answered OK, from its /metrics."""
    with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("imgproc_requests_total{") and 'code="OK"' in line and "Process\"" in line)


class PythonClientRoundRobinTest(unittest.TestCase):
    def test_calls_spread_over_two_replicas(self):
        servers, grpc_addresses, metrics_addresses = [], [], []
        try:
            for host in ("127.0.0.1", "127.0.0.2"):
                metrics = f"{host}:{free_port(host)}"
                server = subprocess.Popen([SERVER, f"--listen={host}:0", f"--metrics_listen={metrics}",
                                           "--backend=cpu"], stdout=subprocess.PIPE, text=True)
                servers.append(server)
                match = re.search(r"listening on ([0-9.]+:\d+)", server.stdout.readline())
                self.assertIsNotNone(match)
                grpc_addresses.append(match.group(1))
                metrics_addresses.append(metrics)
            client = imgproc_client.Client("ipv4:" + ",".join(grpc_addresses), STUBS, round_robin=True)
            with open(PHOTO, "rb") as f:
                photo = f.read()
            for i in range(20):
                self.assertEqual(jpeg_size(client.thumbnail(photo, width=64).image)[0], 64)
            answered = [requests_answered(m) for m in metrics_addresses]
            self.assertEqual(sum(answered), 20, answered)
            self.assertTrue(all(n >= 5 for n in answered), f"calls per replica: {answered}")
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
                self.assertEqual(server.wait(timeout=30), 0)
                server.stdout.close()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
