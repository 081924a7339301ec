#include "transport/server_info.h"

#include <grpcpp/grpcpp.h>

#include <opencv2/core/version.hpp>

#include "codec/metadata.h"
#include "core/kernel_catalog.h"
#include "ops/operation.h"
#include "transport/request_translation.h"
#include "version.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

namespace {

void AddOption(pb::OutputFormatInfo* format, const char* name, const char* type, const char* range,
               const char* default_value, const char* description) {
  pb::ParameterInfo* p = format->add_options();
  p->set_name(name);
  p->set_type(type);
  p->set_range(range);
  p->set_default_value(default_value);
  p->set_description(description);
}

// Each format's OutputSpec message, field by field, as ValidateOutputSpec checks it and the encoders apply it.
void AddOutputFormatOptions(pb::GetServerInfoResponse& info) {
  constexpr const char* kChroma =
      "CHROMA_SUBSAMPLING_UNSPECIFIED, CHROMA_SUBSAMPLING_420, CHROMA_SUBSAMPLING_422, "
      "CHROMA_SUBSAMPLING_444";
  pb::OutputFormatInfo* jpeg = info.add_output_format_options();
  jpeg->set_format(pb::IMAGE_FORMAT_JPEG);
  jpeg->set_encoder(
      "libjpeg-turbo on the CPU; on a GPU server nvJPEG, which takes every option here (an option it refuses "
      "falls back to libjpeg-turbo: ProcessResponse.encode_fallback_reason, imgproc_encode_fallbacks_total)");
  AddOption(jpeg, "quality", "int32", "[1, 100]", "95", "libjpeg's quality scaling of the standard tables");
  AddOption(jpeg, "progressive", "bool", "", "false",
            "progressive (SOF2, libjpeg's standard scan script; tables always optimized) instead of baseline (SOF0)");
  AddOption(jpeg, "chroma_subsampling", "ChromaSubsampling", kChroma, "CHROMA_SUBSAMPLING_UNSPECIFIED (4:2:0)",
            "chroma kept: 4:2:0 luma 2x2, 4:2:2 luma 2x1, 4:4:4 luma 1x1; colour images only");
  AddOption(jpeg, "optimize", "bool", "", "false", "Huffman tables computed for the image: smaller, same pixels");
  pb::OutputFormatInfo* png = info.add_output_format_options();
  png->set_format(pb::IMAGE_FORMAT_PNG);
  png->set_encoder("libpng through OpenCV on the CPU (both backends); 16-bit from a uint16 chain");
  AddOption(png, "compression_level", "int32", "[0, 9]", "3", "zlib's level");
  pb::OutputFormatInfo* webp = info.add_output_format_options();
  webp->set_format(pb::IMAGE_FORMAT_WEBP);
  webp->set_encoder("libwebp through OpenCV on the CPU (both backends)");
  AddOption(webp, "quality", "int32", "[1, 101]", "90", "lossy quality; 101: lossless");
  pb::OutputFormatInfo* avif = info.add_output_format_options();
  avif->set_format(pb::IMAGE_FORMAT_AVIF);
  avif->set_encoder(
      "libavif 0.11 with libaom (AV1) on the CPU (both backends), one thread per request; 8-bit, sRGB nclx; its "
      "answer is bounded by Limits.max_avif_pixels and its encode counts toward max_request_work");
  AddOption(avif, "quality", "int32", "[1, 100]", "60", "AV1 quantizer = round((100 - quality) * 63 / 100)");
  AddOption(avif, "speed", "int32", "[0, 10]", "8", "libaom's speed: 0 slowest and smallest, 10 fastest");
  AddOption(avif, "chroma_subsampling", "ChromaSubsampling", kChroma, "CHROMA_SUBSAMPLING_UNSPECIFIED (4:2:0)",
            "YUV 4:2:0, 4:2:2 or 4:4:4; gray images are monochrome AV1; alpha kept as an alpha plane");
  pb::OutputFormatInfo* heic = info.add_output_format_options();
  heic->set_format(pb::IMAGE_FORMAT_HEIC);
  heic->set_encoder(
      "libheif 1.15 with x265 (HEVC) on the CPU (both backends), one thread per request; 8-bit, sRGB; its "
      "answer is bounded by Limits.max_heic_pixels and its encode counts toward max_request_work");
  AddOption(heic, "quality", "int32", "[1, 100]", "50", "libheif's quality for x265");
  AddOption(heic, "speed", "int32", "[0, 9]", "8",
            "x265's preset: 0 placebo, 1 veryslow, 2 slower, 3 slow, 4 medium, 5 fast, 6 faster, 7 veryfast, "
            "8 superfast, 9 ultrafast");
  AddOption(heic, "chroma_subsampling", "ChromaSubsampling", kChroma, "CHROMA_SUBSAMPLING_UNSPECIFIED (4:2:0)",
            "YCbCr 4:2:0, 4:2:2 or 4:4:4; gray images are stored as colour; alpha kept as an auxiliary image");
  pb::OutputFormatInfo* tiff = info.add_output_format_options();
  tiff->set_format(pb::IMAGE_FORMAT_TIFF);
  tiff->set_encoder("libtiff through OpenCV on the CPU (both backends); 8- or 16-bit as the chain; no metadata");
  AddOption(tiff, "compression", "TiffOutput.TiffCompression", "TIFF_COMPRESSION_DEFLATE, TIFF_COMPRESSION_NONE",
            "TIFF_COMPRESSION_DEFLATE", "deflate (zlib, horizontal predictor) or none; lossless either way");
  pb::OutputFormatInfo* raw = info.add_output_format_options();
  raw->set_format(pb::IMAGE_FORMAT_RAW);
  raw->set_encoder("none: the pixels (a GPU server converts and lays them out on the GPU)");
  AddOption(raw, "dtype", "Dtype", "DTYPE_UINT8, DTYPE_FLOAT32, DTYPE_UINT16, DTYPE_FLOAT16", "DTYPE_UINT8",
            "uint8 from uint16 is round(v / 257), from float32 rounds and saturates; uint16 from uint8 is v * 257; "
            "float16 keeps the values as float32 does, rounded to half precision");
  AddOption(raw, "layout", "Layout", "LAYOUT_HWC, LAYOUT_CHW", "LAYOUT_HWC", "interleaved or planar");
}

}  // namespace

pb::GetServerInfoResponse BuildServerInfo(const Scheduler& scheduler, const ImageLimits& limits,
                                          const std::string& backend, const std::string& backend_reason) {
  pb::GetServerInfoResponse info;
  info.set_version(kImgprocVersion);
  info.set_git_revision(kImgprocGitRevision);
  info.set_opencv_version(CV_VERSION);
  info.set_grpc_version(grpc::Version());
  info.set_backend(ToProtoBackend(backend));
  info.set_backend_reason(backend_reason);
  for (const auto& pool : scheduler.pools()) {
    pb::DeviceInfo* d = info.add_devices();
    d->set_name(pool->device().name);
    d->set_kind(ToProtoBackend(pool->device().kind));
    d->set_description(pool->device().description);
    d->set_memory_total_bytes(pool->device().memory_total_bytes);
    d->set_compute_capability(pool->device().compute_capability);
    d->set_codecs(pool->device().codecs);
    d->set_workers(pool->workers());
    d->set_queue_capacity(static_cast<int>(pool->queue_capacity()));
  }
  pb::Limits* l = info.mutable_limits();
  l->set_max_input_bytes(limits.max_input_bytes);
  l->set_max_width(limits.max_width);
  l->set_max_height(limits.max_height);
  l->set_max_pixels(limits.max_pixels);
  l->set_max_operations(limits.max_operations);
  l->set_max_jpeg_scans(limits.max_jpeg_scans);
  l->set_max_request_work(limits.max_request_work);
  l->set_max_output_bytes(limits.max_output_bytes);
  l->set_max_avif_pixels(limits.max_avif_pixels);
  l->set_max_heic_pixels(limits.max_heic_pixels);
  l->set_max_batch_images(limits.max_batch_images);
  // In the proto's field order: the order a client's generated code lists them in.
  const google::protobuf::OneofDescriptor* ops = pb::Operation::descriptor()->FindOneofByName("op");
  for (int i = 0; i < ops->field_count(); ++i) {
    const OpDefinition* def = OpRegistry::Find(ops->field(i)->name());
    if (def == nullptr) continue;  // the schema test keeps the proto and the registry in step
    pb::OperationInfo* op = info.add_operations();
    op->set_name(def->name);
    op->set_description(def->description);
    for (const ParamInfo& p : def->params) {
      pb::ParameterInfo* param = op->add_parameters();
      param->set_name(p.name);
      param->set_type(p.type);
      param->set_range(p.range);
      param->set_default_value(p.default_value);
      param->set_description(p.description);
    }
    for (Depth d : def->depths) op->add_depths(ToProtoDtype(DepthName(d)));
    op->add_backends(pb::BACKEND_CPU);
    op->set_cuda_notes("no CUDA kernel in this build: runs on the CPU of a GPU server");
    for (const BackendKernelInfo& kernel : BackendKernelsFor(def->name)) {
      op->add_backends(ToProtoBackend(kernel.backend));
      if (kernel.backend == "cuda") {
        op->set_cuda_notes(kernel.notes);
        for (const std::string& d : kernel.depths) op->add_cuda_depths(ToProtoDtype(d));
      }
    }
  }
  for (const char* f : {"jpeg", "png", "webp", "tiff", "bmp", "gif", "heic", "heif", "avif"})
    info.add_input_formats(ToProtoImageFormat(f));
  for (const char* f : {"jpeg", "png", "webp", "avif", "heic", "tiff", "raw"})
    info.add_output_formats(ToProtoImageFormat(f));
  for (const auto& [name, format] : {std::pair{"jpeg", OutputFormat::kJpeg}, std::pair{"png", OutputFormat::kPng},
                                     std::pair{"webp", OutputFormat::kWebp}, std::pair{"avif", OutputFormat::kAvif},
                                     std::pair{"heic", OutputFormat::kHeic}, std::pair{"tiff", OutputFormat::kTiff},
                                     std::pair{"raw", OutputFormat::kRaw}}) {
    const MetadataKinds can = MetadataSupportOf(format);
    pb::FormatMetadata* m = info.add_output_format_metadata();
    m->set_format(ToProtoImageFormat(name));
    m->set_icc_profile(can.icc_profile);
    m->set_exif(can.exif);
    m->set_xmp(can.xmp);
  }
  AddOutputFormatOptions(info);
  return info;
}

}  // namespace imgproc
