#pragma once
// Requests arrive as bytes and are parsed here, not by gRPC: gRPC C++ answers a message that does not parse with
// UNIMPLEMENTED and no message (grpc/grpc#30454), which tells a client neither that its request was at fault nor
// why. Here it gets INVALID_ARGUMENT naming the message type and what failed. Answers are serialized here too.

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "absl/status/status.h"
#include "imgproc/v1/imgproc.pb.h"

namespace imgproc {

// INVALID_ARGUMENT when `bytes` are not protobuf wire format, or when a message or string field inside them does not
// parse (a proto3 string must be UTF-8): "... is no valid imgproc.v1.ProcessRequest: field request_id is not
// UTF-8". `request` (a ProcessRequest, a ProcessStreamRequest) is then left empty.
absl::Status ParseRequestMessage(const grpc::ByteBuffer& bytes, google::protobuf::Message* request);

// The message as gRPC would have sent it (INTERNAL only for one over protobuf's 2 GiB).
absl::Status SerializeMessage(const google::protobuf::Message& message, grpc::ByteBuffer* bytes);

// `message` followed by `field_bytes` as its bytes field `field_number` (which `message` leaves empty), the bytes
// handed to gRPC as they are rather than copied into the serialized message: a protobuf reader takes a field
// wherever it comes, so the answer reads as if the field had been set. For answers that are mostly pixels (an
// image, a batch's tensor), whose copy would be most of the serialization's work.
absl::Status SerializeMessageWithBytes(const google::protobuf::Message& message, int field_number,
                                       std::string field_bytes, grpc::ByteBuffer* bytes);

}  // namespace imgproc
