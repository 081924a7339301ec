# imgproc with the CUDA backend.
#   docker build -t imgproc --build-arg CUDA_ARCH_BIN=9.0 .        # one architecture: faster build, smaller image
#   docker run --gpus all -p 50051:50051 imgproc
# Without CUDA_ARCH_BIN the OpenCV build covers Turing to Blackwell (scripts/build-opencv-cuda.sh).
# OPENCV_SOURCE may name an archive in the build context (air-gapped builds); otherwise pip downloads the
# pinned release (python3-pip), which is checked against its SHA-256.

ARG CUDA_VERSION=13.0.0

FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS builder
ARG CUDA_ARCH_BIN=""
ARG OPENCV_SOURCE=""
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config git curl ca-certificates libjpeg-turbo8-dev \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto libabsl-dev prometheus-cpp-dev \
      libgif-dev libwebp-dev libmicrohttpd-dev \
      libgtest-dev mate-backgrounds python3 python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/build-opencv-cuda.sh scripts/fetch-cuda-libs.sh scripts/
COPY scripts/lib/ scripts/lib/
COPY ${OPENCV_SOURCE:-scripts/build-opencv-cuda.sh} /tmp/opencv-source
RUN source_arg=""; if [ -n "$OPENCV_SOURCE" ]; then source_arg="--source /tmp/opencv-source"; fi; \
    scripts/build-opencv-cuda.sh $source_arg --prefix /opt/opencv-cuda ${CUDA_ARCH_BIN:+--cuda-arch "$CUDA_ARCH_BIN"} \
    && rm -rf /tmp/opencv-cuda-build /tmp/opencv-source
COPY . .
# No GPU during the image build: the gpu tests report themselves skipped; unit and integration tests run.
RUN scripts/build.sh --opencv-cuda /opt/opencv-cuda --cuda on --type Release \
    && (cd build && ctest --output-on-failure -j "$(nproc)" -L "unit|integration") \
    && cmake --install build --prefix /opt/imgproc
# The libraries the binaries load that the CUDA runtime image lacks (gRPC, protobuf, Abseil, OpenCV, ...).
RUN mkdir -p /opt/imgproc/lib && \
    ldd /opt/imgproc/bin/imgproc_server /opt/imgproc/bin/imgproc_cli | awk '/=> \// {print $3}' | sort -u | \
    grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*|libcuda|libcudart|libnpp[^/]*|libnvjpeg)\.so' | \
    xargs -I{} cp -L {} /opt/imgproc/lib/

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04
RUN useradd --system --uid 10001 --no-create-home imgproc
COPY --from=builder /opt/imgproc /opt/imgproc
ENV LD_LIBRARY_PATH=/opt/imgproc/lib:${LD_LIBRARY_PATH} \
    PATH=/opt/imgproc/bin:${PATH} \
    IMGPROC_LISTEN=0.0.0.0:50051
USER imgproc
EXPOSE 50051 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["imgproc_cli", "--target=127.0.0.1:50051", "info"]
ENTRYPOINT ["imgproc_server"]
