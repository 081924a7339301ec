"""imgproc-client (python -m imgproc_client): a JPEG thumbnail of one image.

    python -m imgproc_client --target 127.0.0.1:50051 --input photo.jpg --output thumb.jpg --width 640
"""
import argparse
import re
import sys

from imgproc.v1 import imgproc_pb2 as pb

from . import Client, ImgprocError


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)")


def duration(text):
    """Seconds from a duration as imgproc's C++ tools write it (absl::Duration): "30s", "500ms", "1m30s", "0"."""
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(f"'{text}' is no duration: a number with a unit (ns, us, ms, s, m, h), "
                                         "e.g. 30s, 500ms or 1m30s")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="imgproc-client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--timeout", type=duration, default=30.0, help="deadline of the call, e.g. 30s or 500ms")
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
    format_word = pb.ImageFormat.Name(result.format).removeprefix("IMAGE_FORMAT_").lower()
    print(f"{args.output}: {format_word} {result.width}x{result.height} on {result.device}, "
          f"{t.total_us} us in the server (decode {t.decode_us}, operations {t.operations_us}, encode {t.encode_us})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
