"""imgproc-client (python -m imgproc_client): a JPEG thumbnail of one image.

    python -m imgproc_client --target 127.0.0.1:50051 --input photo.jpg --output thumb.jpg --width 640
"""
import argparse
import sys

from . import Client, ImgprocError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="imgproc-client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of the call, seconds")
    parser.add_argument("--no-retries", action="store_true", help="do not retry UNAVAILABLE or RESOURCE_EXHAUSTED")
    parser.add_argument("--round-robin", action="store_true",
                        help="spread calls over every address of --target, e.g. dns:///imgproc.imgproc.svc:50051")
    parser.add_argument("--tls", action="store_true", help="TLS with the system's CA certificates")
    parser.add_argument("--tls-ca", help="PEM CA certificates that sign the server's certificate (TLS)")
    parser.add_argument("--tls-cert", help="PEM client certificate for mutual TLS (with --tls-key)")
    parser.add_argument("--tls-key", help="PEM key of --tls-cert")
    args = parser.parse_args(argv)
    with open(args.input, "rb") as f:
        image = f.read()
    with Client(args.target, timeout_s=args.timeout, tls=args.tls, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                tls_key=args.tls_key, round_robin=args.round_robin, retries=not args.no_retries) as client:
        try:
            result = client.thumbnail(image, width=args.width, quality=args.quality)
        except ImgprocError as e:
            print(f"imgproc-client: {e}", file=sys.stderr)
            return 1
    with open(args.output, "wb") as f:
        f.write(result.image)
    t = result.timings
    print(f"{args.output}: {result.format} {result.width}x{result.height} on {result.device}, "
          f"{t.total_us} us in the server (decode {t.decode_us}, operations {t.operations_us}, encode {t.encode_us})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
