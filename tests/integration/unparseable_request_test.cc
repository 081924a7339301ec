// Messages that are no ProcessRequest, sent as raw bytes through gRPC's generic stub: INVALID_ARGUMENT with the
// reason, for Process and for each message of ProcessStream, and the server goes on serving. gRPC C++ alone answers
// them UNIMPLEMENTED with no message (grpc/grpc#30454).
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::system_clock;

grpc::ByteBuffer AsByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string AsString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes;
}

// Waits for the one operation in flight on `queue` and says whether it succeeded.
bool Await(grpc::CompletionQueue& queue, void* tag) {
  void* got = nullptr;
  bool ok = false;
  const bool event = queue.Next(&got, &ok);  // the call's deadline ends it at the latest
  EXPECT_TRUE(event && got == tag);
  return event && ok;
}

grpc::Status CallProcessRaw(const ServerProcess& server, const std::string& message, std::string* answer) {
  grpc::GenericStub stub(server.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + std::chrono::seconds(30));
  grpc::CompletionQueue queue;
  const grpc::ByteBuffer request = AsByteBuffer(message);
  auto call = stub.PrepareUnaryCall(&context, "/imgproc.v1.ImageProcessorService/Process", request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, &response);
  Await(queue, &response);
  *answer = AsString(response);
  return status;
}

// One ProcessStream call writing `messages` as they are; the answers it read, and the call's status.
grpc::Status CallProcessStreamRaw(const ServerProcess& server, const std::vector<std::string>& messages,
                                  std::vector<pb::ProcessStreamResponse>* answers) {
  grpc::GenericStub stub(server.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + std::chrono::seconds(30));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(&context, "/imgproc.v1.ImageProcessorService/ProcessStream", &queue);
  int tag = 0;
  call->StartCall(&tag);
  if (Await(queue, &tag)) {
    for (const std::string& message : messages) {
      call->Write(AsByteBuffer(message), &tag);
      if (!Await(queue, &tag)) break;
    }
    call->WritesDone(&tag);
    Await(queue, &tag);
    grpc::ByteBuffer response;
    while (true) {
      call->Read(&response, &tag);
      if (!Await(queue, &tag)) break;
      pb::ProcessStreamResponse answer;
      EXPECT_TRUE(answer.ParseFromString(AsString(response)));
      answers->push_back(answer);
    }
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  Await(queue, &tag);
  return status;
}

struct Unparseable {
  std::string name;
  std::string bytes;
  std::string reason;  // in the status message, after the message type
};

// ProcessRequests (or, for a stream, ProcessStreamRequests) that do not parse.
std::vector<Unparseable> UnparseableMessages(bool stream_item) {
  // A stream's message holds the request as its field 1, length-delimited (the faults below fit one length byte).
  const auto wrap = [stream_item](const std::string& request_bytes) {
    return stream_item ? std::string("\x0a", 1) + static_cast<char>(request_bytes.size()) + request_bytes
                       : request_bytes;
  };
  const std::string valid =
      stream_item ? StreamItem(SmallFlipRequest()).SerializeAsString() : SmallFlipRequest().SerializeAsString();
  // Field 5 (request_id), length-delimited: 0xC3 0x28 is a two-byte sequence whose second byte is no continuation.
  // Appended, it is merged into the request (a stream's message merges a repeated field 1 likewise).
  const std::string bad_request_id = valid + wrap(std::string("\x2a\x02\xc3\x28", 4));
  // Field 3 (operations), length-delimited, whose bytes are no wire format (field 0 is none).
  const std::string bad_operation = valid + wrap(std::string("\x1a\x03\x00\x01\x02", 5));
  // A stream's fault is in the second field 1 it holds, whose own operations start at 0.
  const std::string bad_operation_path = stream_item ? "request.operations[0]" : "operations[1]";
  return {
      {"text", "not a ProcessRequest at all", "bytes are not protobuf wire format"},
      {"truncated", valid.substr(0, valid.size() / 2), "bytes are not protobuf wire format"},
      {"request_id not UTF-8", bad_request_id,
       std::string("field ") + (stream_item ? "request." : "") + "request_id is not UTF-8"},
      {"operation not wire format", bad_operation, "field " + bad_operation_path + " is no imgproc.v1.Operation"},
  };
}

TEST(UnparseableRequestTest, ProcessAnswersInvalidArgumentNamingTheMessageAndTheFault) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  for (const Unparseable& u : UnparseableMessages(/*stream_item=*/false)) {
    std::string answer;
    const grpc::Status status = CallProcessRaw(server, u.bytes, &answer);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << u.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find("imgproc.v1.ProcessRequest"), std::string::npos)
        << u.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(u.reason), std::string::npos) << u.name << ": " << status.error_message();
  }
  // The same bytes without the fault, through the same generic stub, and then through the generated one.
  std::string answer;
  ASSERT_TRUE(CallProcessRaw(server, SmallFlipRequest().SerializeAsString(), &answer).ok());
  pb::ProcessResponse response;
  ASSERT_TRUE(response.ParseFromString(answer));
  EXPECT_EQ(response.width(), 64);
  EXPECT_EQ(response.height(), 48);
  auto stub = server.NewStub();
  EXPECT_TRUE(CallProcess(*stub, SmallFlipRequest(), &response).ok());
  EXPECT_EQ(response.image().size(), 64u * 48 * 3);
  // UTF-8 beyond ASCII (two-, three- and four-byte sequences) is a valid request_id, echoed as sent.
  pb::ProcessRequest international = SmallFlipRequest();
  international.set_request_id("fa\u00e7ade \u2713 \U0001D11E");
  ASSERT_TRUE(CallProcessRaw(server, international.SerializeAsString(), &answer).ok());
  ASSERT_TRUE(response.ParseFromString(answer));
  EXPECT_EQ(response.request_id(), international.request_id());
}

TEST(UnparseableRequestTest, EachUnparseableStreamMessageGetsItsOwnAnswerAndTheStreamGoesOn) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  const std::vector<Unparseable> unparseable = UnparseableMessages(/*stream_item=*/true);
  std::vector<std::string> messages;
  for (const Unparseable& u : unparseable) messages.push_back(u.bytes);
  pb::ProcessRequest valid = SmallFlipRequest();
  valid.set_request_id("valid");
  messages.push_back(StreamItem(valid).SerializeAsString());
  std::vector<pb::ProcessStreamResponse> answers;
  const grpc::Status status = CallProcessStreamRaw(server, messages, &answers);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ASSERT_EQ(answers.size(), messages.size());
  std::vector<std::string> refusals;
  int valid_answers = 0;
  for (const pb::ProcessStreamResponse& a : answers) {
    if (a.request_id() == "valid") {
      EXPECT_EQ(a.status().code(), 0) << a.status().message();
      EXPECT_EQ(a.response().width(), 64);
      ++valid_answers;
      continue;
    }
    EXPECT_EQ(a.request_id(), "");  // it could not be read
    EXPECT_EQ(a.status().code(), grpc::StatusCode::INVALID_ARGUMENT) << a.status().message();
    refusals.push_back(a.status().message());
  }
  EXPECT_EQ(valid_answers, 1);
  // Read in order, so refused in order: each with its own reason.
  ASSERT_EQ(refusals.size(), unparseable.size());
  for (size_t i = 0; i < unparseable.size(); ++i) {
    EXPECT_NE(refusals[i].find("imgproc.v1.ProcessStreamRequest"), std::string::npos) << refusals[i];
    EXPECT_NE(refusals[i].find(unparseable[i].reason), std::string::npos) << unparseable[i].name << ": " << refusals[i];
  }
  // Still serving, health included.
  auto stub = server.NewStub();
  pb::ProcessResponse response;
  EXPECT_TRUE(CallProcess(*stub, SmallFlipRequest(), &response).ok());
  auto health = grpc::health::v1::Health::NewStub(server.NewChannel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse serving;
  request.set_service("imgproc.v1.ImageProcessorService");
  ASSERT_TRUE(health->Check(&context, request, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace imgproc::testing
