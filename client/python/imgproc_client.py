#!/usr/bin/env python3
"""Example imgproc client in Python (Debian's python3-grpcio; stubs generated from proto/ at build time).

    python3 client/python/imgproc_client.py --stubs build/client/python/stubs --target 127.0.0.1:50051 \\
        --input /usr/share/backgrounds/mate/nature/Dune.jpg --output thumb.jpg
"""
import argparse
import json
import os
import sys


def load_stubs(stubs_dir):
    """Imports the generated modules from stubs_dir (build/client/python/stubs)."""
    if stubs_dir not in sys.path:
        sys.path.insert(0, stubs_dir)
    from imgproc.v1 import imgproc_pb2, imgproc_pb2_grpc  # noqa: E402  (generated)
    return imgproc_pb2, imgproc_pb2_grpc


def read_file(path):
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


# Spreads calls over every address the target resolves to (dns:///imgproc.NAMESPACE.svc:50051 for a headless
# Service), and watches each replica's health so that one draining before it stops gets no new calls.
ROUND_ROBIN_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": "imgproc.v1.ImageProcessor"},
})


class Client:
    def __init__(self, target, stubs_dir, timeout_s=30.0, tls=False, tls_ca=None, tls_cert=None, tls_key=None,
                 round_robin=False):
        """tls_ca, tls_cert, tls_key: PEM files (CA of the server's certificate; the client's own certificate and
        key for servers that require one). Any of them, or tls=True (the system's CAs), turns TLS on.
        round_robin: spread calls over every replica the target names (see ROUND_ROBIN_SERVICE_CONFIG)."""
        import grpc
        self.pb, pb_grpc = load_stubs(stubs_dir)
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        if round_robin:
            options.append(("grpc.service_config", ROUND_ROBIN_SERVICE_CONFIG))
        if tls or tls_ca or tls_cert or tls_key:
            credentials = grpc.ssl_channel_credentials(root_certificates=read_file(tls_ca),
                                                       private_key=read_file(tls_key),
                                                       certificate_chain=read_file(tls_cert))
            self.channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.stub = pb_grpc.ImageProcessorStub(self.channel)
        self.timeout_s = timeout_s

    def thumbnail(self, image_bytes, width=640, quality=90, request_id="", shrink_on_load=True):
        """Resize to `width` keeping the aspect ratio (area averaging: no aliasing, and the server may shrink the
        image on load), blur lightly, encode as JPEG. shrink_on_load=False asks for a full-size decode (see
        ProcessRequest.disable_shrink_on_load)."""
        pb = self.pb
        request = pb.ProcessRequest(
            image=image_bytes,
            request_id=request_id,
            disable_shrink_on_load=not shrink_on_load,
            operations=[
                pb.Operation(resize=pb.Resize(width=width, keep_aspect=True, interpolation=pb.INTERPOLATION_AREA)),
                pb.Operation(gaussian_blur=pb.GaussianBlur(kernel_width=5, sigma_x=1.5)),
            ],
            output=pb.OutputSpec(jpeg=pb.JpegOutput(quality=quality)),
        )
        return self.stub.Process(request, timeout=self.timeout_s)

    def model_input(self, image_bytes, size=224, shrink_on_load=True):
        """ImageNet preprocessing: resize, BGR to RGB, normalize, float32 CHW. shrink_on_load as for thumbnail."""
        pb = self.pb
        request = pb.ProcessRequest(
            image=image_bytes,
            disable_shrink_on_load=not shrink_on_load,
            operations=[
                pb.Operation(resize=pb.Resize(width=size, height=size, interpolation=pb.INTERPOLATION_AREA)),
                pb.Operation(cvt_color=pb.CvtColor(conversion=pb.CvtColor.BGR2RGB)),
                pb.Operation(normalize=pb.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])),
            ],
            output=pb.OutputSpec(raw=pb.RawOutput(dtype=pb.DTYPE_FLOAT32, layout=pb.LAYOUT_CHW)),
        )
        return self.stub.Process(request, timeout=self.timeout_s)

    def stream(self, requests):
        """ProcessStream: yields one answer per request, in completion order."""
        return self.stub.ProcessStream(iter(requests), timeout=self.timeout_s * max(1, len(requests)))

    def server_info(self):
        return self.stub.GetServerInfo(self.pb.GetServerInfoRequest(), timeout=self.timeout_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--stubs", default=os.path.join("build", "client", "python", "stubs"))
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--round-robin", action="store_true",
                        help="spread calls over every address of --target, e.g. dns:///imgproc.imgproc.svc:50051")
    parser.add_argument("--tls", action="store_true", help="TLS with the system's CA certificates")
    parser.add_argument("--tls-ca", help="PEM CA certificates that sign the server's certificate (TLS)")
    parser.add_argument("--tls-cert", help="PEM client certificate for mutual TLS (with --tls-key)")
    parser.add_argument("--tls-key", help="PEM key of --tls-cert")
    args = parser.parse_args()
    client = Client(args.target, args.stubs, tls=args.tls, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                    tls_key=args.tls_key, round_robin=args.round_robin)
    with open(args.input, "rb") as f:
        response = client.thumbnail(f.read())
    with open(args.output, "wb") as f:
        f.write(response.image)
    t = response.timings
    print(f"{args.output}: {response.format} {response.width}x{response.height} on {response.device}, "
          f"{t.total_us} us in the server (decode {t.decode_us}, operations {t.operations_us}, encode {t.encode_us})")


if __name__ == "__main__":
    main()
