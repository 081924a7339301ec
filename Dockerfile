# imgproc with the CUDA backend.
#   docker build -t imgproc --build-arg CUDA_ARCH_BIN=9.0 .        # one architecture: faster build, smaller image
#   docker run --gpus all -p 50051:50051 imgproc
# Without CUDA_ARCH_BIN the OpenCV build covers Turing to Blackwell (scripts/build-opencv-cuda.sh).
# OPENCV_SOURCE may name an archive in the build context (air-gapped builds); otherwise pip downloads the
# pinned release (python3-pip), which is checked against its SHA-256.

# The build and install steps are the CPU image's (Dockerfile.cpu), which CI builds and runs: install-deps.sh,
# build.sh and install.sh --bundle-libs. The runtime stage holds the CUDA runtime image and /opt/imgproc only.
ARG CUDA_VERSION=13.0.0

FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS builder
ARG CUDA_ARCH_BIN=""
ARG OPENCV_SOURCE=""
ENV DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh --run --opencv-cuda && rm -rf /var/lib/apt/lists/*
COPY scripts/build-opencv-cuda.sh scripts/fetch-cuda-libs.sh scripts/
COPY scripts/lib/ scripts/lib/
COPY ${OPENCV_SOURCE:-scripts/build-opencv-cuda.sh} /tmp/opencv-source
RUN source_arg=(); if [ -n "$OPENCV_SOURCE" ]; then source_arg=(--source /tmp/opencv-source); fi; \
    scripts/build-opencv-cuda.sh "${source_arg[@]}" --prefix /opt/opencv-cuda ${CUDA_ARCH_BIN:+--cuda-arch "$CUDA_ARCH_BIN"} \
    && rm -rf /tmp/opencv-cuda-build /tmp/opencv-source
COPY . .
# No GPU during an image build, and the tests run where one is (scripts/test.sh, ctest -L gpu): the image builds
# only what it ships. install.sh bundles OpenCV's libraries with the others the runtime image lacks (gRPC,
# protobuf, Abseil, ...); the CUDA ones come from the runtime image and the driver.
RUN scripts/build.sh --opencv-cuda /opt/opencv-cuda --cuda on --type Release --no-tests --build-dir /tmp/build \
    && scripts/install.sh --build-dir /tmp/build --prefix /opt/imgproc --bundle-libs

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN groupadd --system --gid 10001 imgproc && useradd --system --uid 10001 --gid 10001 --no-create-home imgproc
COPY --from=builder /opt/imgproc /opt/imgproc
ENV LD_LIBRARY_PATH=/opt/imgproc/lib:${LD_LIBRARY_PATH} \
    PATH=/opt/imgproc/bin:${PATH} \
    IMGPROC_LISTEN=0.0.0.0:50051
# The runtime set is complete but for the driver's libraries, which the NVIDIA Container Toolkit mounts at run time.
RUN if ldd /opt/imgproc/bin/* | grep 'not found' | grep -v -E 'libcuda\.so|libnvidia-'; then exit 1; fi
USER 10001:10001
EXPOSE 50051 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["imgproc-cli", "--target=127.0.0.1:50051", "info"]
ENTRYPOINT ["imgproc-server"]
