#pragma once
// ProcessBatch (issue 34): N images through one chain into one tensor. Each image is a job of its own through the
// scheduler, as a Process request would be (so the CUDA backend's decode stage batches their JPEGs with everyone
// else's), with an output slot: its part of the tensor, in the answer's bytes or in a client's CUDA shared-memory
// region. One image's failure is its slot's; the call fails only for what is wrong with the batch as a whole.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "common/limits.h"
#include "core/device_memory_registry.h"
#include "scheduler/scheduler.h"

namespace imgproc {

class RequestObserver;

struct BatchServices {
  Scheduler* scheduler = nullptr;
  ImageLimits limits;
  RequestObserver* observer = nullptr;  // optional
  // Where output regions are looked up; null when the server takes none, and then `no_regions` says why (the
  // status a request naming a region gets).
  DeviceMemoryRegistry* regions = nullptr;
  absl::Status no_regions;
};

// Parses `request` (a ProcessBatchRequest), runs it and finishes `reactor` with `response` filled. Returns at once;
// the last of its jobs to finish answers.
void StartBatch(const BatchServices& services, grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                grpc::ByteBuffer* response, grpc::ServerUnaryReactor* reactor);

}  // namespace imgproc
