"""Generates imgproc/v1/imgproc_pb2.py and imgproc_pb2_grpc.py from the proto while the wheel is built.

The proto lives outside this folder (../../proto of the repository), which pip reaches because it builds a local
directory in place (pip >= 21.3). An sdist carries a copy under proto/ (see Sdist below). IMGPROC_PROTO_DIR names
another folder holding imgproc/v1/imgproc.proto.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join("imgproc", "v1", "imgproc.proto")


def proto_root():
    candidates = [os.environ.get("IMGPROC_PROTO_DIR"), os.path.join(HERE, "proto"),
                  os.path.join(HERE, "..", "..", "proto")]
    for root in filter(None, candidates):
        if os.path.isfile(os.path.join(root, PROTO)):
            return os.path.abspath(root)
    raise SystemExit(
        f"imgproc-client: cannot find {PROTO} (looked in {', '.join(filter(None, candidates))}). Install from the "
        "repository's client/python folder (pip install ./client/python, pip >= 21.3 builds it in place), or set "
        "IMGPROC_PROTO_DIR to the folder that holds imgproc/v1/imgproc.proto.")


def googleapis_root():
    """The folder holding google/rpc/status.proto: googleapis-common-protos ships the .proto beside its status_pb2, and
    the generated imgproc_pb2 imports that status_pb2 at run time."""
    from google.rpc import status_pb2
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(status_pb2.__file__))))
    if not os.path.isfile(os.path.join(root, "google", "rpc", "status.proto")):
        raise SystemExit(f"imgproc-client: googleapis-common-protos has no google/rpc/status.proto under {root}")
    return root


def generate(out_dir):
    from grpc_tools import protoc
    import grpc_tools
    root = proto_root()
    os.makedirs(os.path.join(out_dir, "imgproc", "v1"), exist_ok=True)
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")  # google/protobuf/*.proto
    args = ["grpc_tools.protoc", f"-I{root}", f"-I{well_known}", f"-I{googleapis_root()}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}", os.path.join(root, PROTO)]
    if protoc.main(args) != 0:
        raise SystemExit(f"imgproc-client: grpc_tools.protoc failed on {os.path.join(root, PROTO)}")
    for package in ("imgproc", os.path.join("imgproc", "v1")):
        open(os.path.join(out_dir, package, "__init__.py"), "a").close()


class BuildPy(build_py):
    def run(self):
        super().run()
        generate(self.build_lib)

    def get_outputs(self, include_bytecode=1):
        # Editable installs and `bdist_wheel` ask which files this step makes.
        names = ["imgproc/__init__.py", "imgproc/v1/__init__.py", "imgproc/v1/imgproc_pb2.py",
                 "imgproc/v1/imgproc_pb2.pyi", "imgproc/v1/imgproc_pb2_grpc.py"]
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, n) for n in names]


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = os.path.join(base_dir, "proto", os.path.dirname(PROTO))
        os.makedirs(target, exist_ok=True)
        self.copy_file(os.path.join(proto_root(), PROTO), target)


def dependencies():
    """The stubs need a protobuf runtime at least as new as the generator (newer stubs check it on import) and of
    the same major version; grpcio at least as new as grpcio-tools."""
    from google.protobuf import __version__ as protobuf_version
    from importlib.metadata import version
    tools = version("grpcio-tools")
    major = int(protobuf_version.split(".")[0])
    return [f"grpcio>={tools}", f"protobuf>={protobuf_version},<{major + 1}", "googleapis-common-protos>=1.56",
            "numpy>=1.21"]


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist}, install_requires=dependencies())
