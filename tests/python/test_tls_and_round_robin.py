"""Mutual TLS with a self-signed CA made by openssl, and round_robin over two servers, for both clients."""
import asyncio
import os
import socket
import urllib.request

import grpc
import pytest

from conftest import Server, jpeg_size
from imgproc_client import AsyncClient, Client, ImgprocError


def make_certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl (Debian's openssl)."""
    import subprocess

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *key, "-days", "2", "-subj", "/CN=imgproc test CA", "-keyout", "ca.key", "-out", "ca.pem")
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(extension + "\n")
        openssl("req", *key, "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")


def test_a_client_with_its_certificate_is_served_and_one_without_is_refused(tmp_path):
    make_certificates(tmp_path)
    ca, cert, key = (str(tmp_path / n) for n in ("ca.pem", "client.pem", "client.key"))
    server = Server("--metrics_listen=", f"--tls_cert={tmp_path / 'server.pem'}",
                    f"--tls_key={tmp_path / 'server.key'}", f"--tls_client_ca={ca}")
    try:
        assert "mutual TLS" in server.first_line
        with Client(server.address, tls_ca=ca, tls_cert=cert, tls_key=key) as client:
            assert len(client.server_info().operations) == 22
        with Client(server.address, timeout_s=5, tls_ca=ca) as anonymous:
            with pytest.raises(ImgprocError) as refused:
                anonymous.server_info()
            assert refused.value.code == grpc.StatusCode.UNAVAILABLE

        async def calls():
            async with AsyncClient(server.address, tls_ca=ca, tls_cert=cert, tls_key=key) as c:
                return await c.health()
        assert asyncio.run(calls()) == "SERVING"
    finally:
        server.stop()


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


def test_calls_spread_over_two_replicas(photo):
    servers, metrics = [], []
    try:
        for host in ("127.0.0.1", "127.0.0.2"):
            metrics.append(f"{host}:{free_port(host)}")
            servers.append(Server(f"--metrics_listen={metrics[-1]}", host=host))
        with Client("ipv4:" + ",".join(s.address for s in servers), round_robin=True) as client:
            for _ in range(20):
                assert jpeg_size(client.thumbnail(photo, width=64).image)[0] == 64
        answered = [requests_answered(m) for m in metrics]
        assert sum(answered) == 20, answered
        assert all(n >= 5 for n in answered), f"calls per replica: {answered}"
    finally:
        for server in servers:
            server.stop()
