#include "transport/server_info.h"

#include <grpcpp/grpcpp.h>

#include <opencv2/core/version.hpp>

#include "codec/metadata.h"
#include "core/kernel_catalog.h"
#include "ops/operation.h"
#include "version.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

pb::ServerInfo BuildServerInfo(const Scheduler& scheduler, const ImageLimits& limits, const std::string& backend,
                               const std::string& backend_reason) {
  pb::ServerInfo info;
  info.set_version(kImgprocVersion);
  info.set_git_revision(kImgprocGitRevision);
  info.set_opencv_version(CV_VERSION);
  info.set_grpc_version(grpc::Version());
  info.set_backend(backend);
  info.set_backend_reason(backend_reason);
  for (const auto& pool : scheduler.pools()) {
    pb::DeviceInfo* d = info.add_devices();
    d->set_name(pool->device().name);
    d->set_kind(pool->device().kind);
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
    op->add_backends("cpu");
    op->set_cuda_notes("no CUDA kernel in this build: runs on the CPU of a GPU server");
    for (const BackendKernelInfo& kernel : BackendKernelsFor(def->name)) {
      op->add_backends(kernel.backend);
      if (kernel.backend == "cuda") op->set_cuda_notes(kernel.notes);
    }
  }
  for (const char* f : {"jpeg", "png", "webp", "tiff", "bmp", "gif", "heic", "heif", "avif"}) info.add_input_formats(f);
  for (const char* f : {"jpeg", "png", "webp", "raw"}) info.add_output_formats(f);
  for (const auto& [name, format] : {std::pair{"jpeg", OutputFormat::kJpeg}, std::pair{"png", OutputFormat::kPng},
                                     std::pair{"webp", OutputFormat::kWebp}, std::pair{"raw", OutputFormat::kRaw}}) {
    const MetadataKinds can = MetadataSupportOf(format);
    pb::FormatMetadata* m = info.add_output_format_metadata();
    m->set_format(name);
    m->set_icc_profile(can.icc_profile);
    m->set_exif(can.exif);
    m->set_xmp(can.xmp);
  }
  return info;
}

}  // namespace imgproc
