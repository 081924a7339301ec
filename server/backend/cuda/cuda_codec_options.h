#pragma once
// Where a CUDA device decodes and encodes JPEGs (--jpeg_decode, --jpeg_encode and the decode stage's flags).

#include "backend/cuda/jpeg_decode_stage.h"

namespace imgproc {

struct CudaCodecOptions {
  bool engine_decode = true;  // the JPEG engine, where the GPU has one: the decode stage batches JPEGs on it
  bool cuda_decode = true;    // JPEGs the engine did not take: nvJPEG on the SMs before the CPU
  bool cuda_encode = true;    // JPEG answers: nvJPEG
  DecodeStageOptions decode_stage;
};

}  // namespace imgproc
