// The real server binary on a loopback port, called through the generated stub.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <set>
#include <thread>

#include "cli/request_parsing.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "imgproc/client.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

class ServerTest : public CpuServerSuite {};

TEST_F(ServerTest, EveryOperationMatchesInProcessOpenCv) {
  auto stub = server_->NewStub();
  const std::string photo = ReadFile(PhotoPath("nature/Storm.jpg"));
  for (const OpCase& c : OperationCases()) {
    const cv::Mat expected = c.reference(DecodeLikeServer(photo, c.decode));
    const pb::Dtype dtype = expected.depth() == CV_32F ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT8;
    pb::ProcessResponse response;
    grpc::Status status = CallProcess(*stub, RawRequest(photo, c, dtype), &response);
    ASSERT_TRUE(status.ok()) << c.name << ": " << status.error_message();
    EXPECT_EQ(response.request_id(), c.name);
    EXPECT_EQ(response.device(), "cpu");
    const cv::Mat actual = RawToMat(response.image(), response.width(), response.height(), response.channels(), dtype);
    const PixelDiff diff = Compare(actual, expected);
    EXPECT_TRUE(diff.same_shape) << c.name;
    EXPECT_LE(diff.max_abs, c.max_abs_diff) << c.name << ": " << diff.Describe();
  }
}

TEST_F(ServerTest, EveryOutputFormat) {
  auto stub = server_->NewStub();
  const std::string photo = ReadFile(PhotoPath("nature/GreenMeadow.jpg"));
  cv::Mat expected;
  cv::resize(DecodeLikeServer(photo), expected, {320, 256}, 0, 0, cv::INTER_AREA);
  auto request_for = [&](auto set_output) {
    pb::ProcessRequest request;
    request.set_image(photo);
    request.set_disable_shrink_on_load(true);  // the reference decodes at full size; this test is about encoders
    auto* resize = request.add_operations()->mutable_resize();
    resize->set_width(320);
    resize->set_height(256);
    resize->set_interpolation(pb::INTERPOLATION_AREA);
    set_output(*request.mutable_output());
    return request;
  };
  auto decode = [](const std::string& bytes) { return DecodeLikeServer(bytes, pb::DECODE_MODE_UNCHANGED); };
  struct Format {
    std::string name;
    std::function<void(pb::OutputSpec&)> set;
    cv::Mat want;
  };
  const std::vector<Format> lossy = {
      {"jpeg", [](pb::OutputSpec& o) { o.mutable_jpeg()->set_quality(80); },
       decode(EncodeAs(expected, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 80}))},
      {"jpeg", [](pb::OutputSpec&) {}, decode(EncodeAs(expected, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}))},
      {"png", [](pb::OutputSpec& o) { o.mutable_png()->set_compression_level(9); }, expected},
      {"webp", [](pb::OutputSpec& o) { o.mutable_webp()->set_quality(70); },
       decode(EncodeAs(expected, ".webp", {cv::IMWRITE_WEBP_QUALITY, 70}))},
      {"webp", [](pb::OutputSpec& o) { o.mutable_webp()->set_quality(101); }, expected},  // lossless
  };
  for (const Format& f : lossy) {
    pb::ProcessResponse response;
    grpc::Status status = CallProcess(*stub, request_for(f.set), &response);
    ASSERT_TRUE(status.ok()) << f.name << ": " << status.error_message();
    EXPECT_EQ(FormatName(response.format()), f.name);
    const PixelDiff diff = Compare(decode(response.image()), f.want);
    EXPECT_EQ(diff.max_abs, 0) << f.name << ": " << diff.Describe();
  }
  // Raw uint8 HWC and float32 CHW.
  pb::ProcessResponse raw;
  ASSERT_TRUE(CallProcess(*stub, request_for([](pb::OutputSpec& o) { o.mutable_raw(); }), &raw).ok());
  EXPECT_EQ(
      Compare(RawToMat(raw.image(), raw.width(), raw.height(), raw.channels(), pb::DTYPE_UINT8), expected).max_abs, 0);
  pb::ProcessResponse planar;
  ASSERT_TRUE(CallProcess(*stub, request_for([](pb::OutputSpec& o) {
                o.mutable_raw()->set_dtype(pb::DTYPE_FLOAT32);
                o.mutable_raw()->set_layout(pb::LAYOUT_CHW);
              }),
                          &planar)
                  .ok());
  ASSERT_EQ(planar.image().size(), 320u * 256 * 3 * 4);
  EXPECT_EQ(planar.layout(), pb::LAYOUT_CHW);
  std::vector<cv::Mat> planes;
  cv::split(expected, planes);
  for (int c = 0; c < 3; ++c) {
    cv::Mat plane(256, 320, CV_32F, const_cast<char*>(planar.image().data()) + c * 320 * 256 * 4), want;
    planes[c].convertTo(want, CV_32F);
    EXPECT_EQ(Compare(plane, want).max_abs, 0) << "plane " << c;
  }
}

TEST_F(ServerTest, StreamingAnswersEachRequestWithItsOwnStatus) {
  auto stub = server_->NewStub();
  const std::string photo = ReadFile(PhotoPath("nature/Dune.jpg"));
  const std::vector<OpCase> cases = OperationCases();
  std::map<std::string, cv::Mat> expected;
  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + std::chrono::minutes(5));
  auto stream = stub->ProcessStream(&context);
  for (const OpCase& c : cases) expected[c.name] = c.reference(DecodeLikeServer(photo, c.decode));
  // Written while the answers are read: the server stops reading a stream whose answers wait unread.
  auto writer = std::async(std::launch::async, [&] {
    for (const OpCase& c : cases) {
      const pb::Dtype dtype = expected[c.name].depth() == CV_32F ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT8;
      if (!stream->Write(StreamItem(RawRequest(photo, c, dtype)))) return false;
    }
    pb::ProcessRequest bad;  // in the middle of the stream; must not end it
    bad.set_image("not an image");
    bad.set_request_id("bad");
    return stream->Write(StreamItem(bad)) && stream->WritesDone();
  });
  std::set<std::string> answered;
  pb::ProcessStreamResponse response;
  while (stream->Read(&response)) {
    answered.insert(response.request_id());
    if (response.request_id() == "bad") {
      EXPECT_EQ(response.status().code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_NE(response.status().message().find("unrecognized image format"), std::string::npos);
      continue;
    }
    ASSERT_EQ(response.status().code(), 0) << response.request_id() << ": " << response.status().message();
    const auto& r = response.response();
    const cv::Mat& want = expected[response.request_id()];
    const cv::Mat got = RawToMat(r.image(), r.width(), r.height(), r.channels(), r.dtype());
    const OpCase& c =
        *std::find_if(cases.begin(), cases.end(), [&](const OpCase& x) { return x.name == response.request_id(); });
    EXPECT_LE(Compare(got, want).max_abs, c.max_abs_diff) << response.request_id();
  }
  EXPECT_TRUE(writer.get());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered.size(), cases.size() + 1);
}

struct BadRequest {
  std::string name;
  std::function<void(pb::ProcessRequest&)> make;
  grpc::StatusCode code;
  std::string message;
};

TEST_F(ServerTest, BadInputGetsPreciseStatusAndServerKeepsServing) {
  auto stub = server_->NewStub();
  const std::string jpeg = EncodeAs(GeneratedImage(200, 100), ".jpg");
  std::string truncated_png = EncodeAs(GeneratedImage(200, 100), ".png");
  truncated_png.resize(truncated_png.size() / 2);
  std::string huge_png = EncodeAs(GeneratedImage(8, 8), ".png");
  const unsigned char big[4] = {0x00, 0x01, 0x86, 0xA0};  // 100000
  huge_png.replace(16, 4, reinterpret_cast<const char*>(big), 4);
  huge_png.replace(20, 4, reinterpret_cast<const char*>(big), 4);
  const std::vector<BadRequest> cases = {
      {"empty", [](pb::ProcessRequest&) {}, grpc::INVALID_ARGUMENT, "image is empty"},
      {"garbage", [](pb::ProcessRequest& r) { r.set_image("PK\x03\x04....."); }, grpc::INVALID_ARGUMENT,
       "unrecognized image format"},
      {"gif_signature_only", [](pb::ProcessRequest& r) { r.set_image("GIF89a....."); }, grpc::INVALID_ARGUMENT,
       "malformed gif header"},
      {"corrupt_jpeg",
       [](pb::ProcessRequest& r) {
         r.set_image(std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11) + std::string(100, '\x55'));
       },
       grpc::INVALID_ARGUMENT, "malformed jpeg header"},
      {"truncated_png", [&](pb::ProcessRequest& r) { r.set_image(truncated_png); }, grpc::INVALID_ARGUMENT,
       "could not decode png"},
      {"huge_dimensions", [&](pb::ProcessRequest& r) { r.set_image(huge_png); }, grpc::INVALID_ARGUMENT,
       "100000x100000, over the limits"},
      {"unknown_operation",
       [&](pb::ProcessRequest& r) {
         r.set_image(jpeg);
         r.add_operations();
       },
       grpc::INVALID_ARGUMENT, "operations[0]: no operation set"},
      {"wrong_parameter",
       [&](pb::ProcessRequest& r) {
         r.set_image(jpeg);
         r.add_operations()->mutable_flip();
         r.add_operations()->mutable_median_blur()->set_kernel_size(4);
       },
       grpc::INVALID_ARGUMENT, "operations[1].median_blur.kernel_size: must be odd"},
      {"unknown_device",
       [&](pb::ProcessRequest& r) {
         r.set_image(jpeg);
         r.set_device("cuda:7");
       },
       grpc::INVALID_ARGUMENT, "device: 'cuda:7' is not on this server"},
      // Echoed whole, an 8 KiB name overflowed the client's metadata limit and hid the real error.
      {"long_device_name",
       [&](pb::ProcessRequest& r) {
         r.set_image(jpeg);
         r.set_device(std::string(8192, 'x'));
       },
       grpc::INVALID_ARGUMENT, "...' (8192 bytes) is not on this server"},
  };
  for (const BadRequest& c : cases) {
    pb::ProcessRequest request;
    c.make(request);
    pb::ProcessResponse response;
    grpc::Status status = CallProcess(*stub, request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.message), std::string::npos) << c.name << ": " << status.error_message();
  }
  pb::ProcessRequest good;
  good.set_image(jpeg);
  pb::ProcessResponse response;
  EXPECT_TRUE(CallProcess(*stub, good, &response).ok());
  EXPECT_EQ(response.width(), 200);
}

TEST_F(ServerTest, HealthCheckServingAndServerInfoListsEveryOperation) {
  auto health = grpc::health::v1::Health::NewStub(server_->NewChannel());
  grpc::ClientContext hc;
  grpc::health::v1::HealthCheckResponse hr;
  ASSERT_TRUE(health->Check(&hc, grpc::health::v1::HealthCheckRequest(), &hr).ok());
  EXPECT_EQ(hr.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // Also by the service's name, which meshes and grpc_health_probe -service ask for.
  grpc::ClientContext named_context;
  grpc::health::v1::HealthCheckRequest named;
  named.set_service(pb::ImageProcessorService::service_full_name());
  const grpc::Status named_status = health->Check(&named_context, named, &hr);
  ASSERT_TRUE(named_status.ok()) << named_status.error_message();
  EXPECT_EQ(hr.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto stub = server_->NewStub();
  grpc::ClientContext context;
  pb::GetServerInfoResponse info;
  ASSERT_TRUE(stub->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  EXPECT_EQ(info.backend(), pb::BACKEND_CPU);
  ASSERT_EQ(info.devices_size(), 1);
  EXPECT_EQ(info.devices(0).workers(), 2);
  const auto* oneof = pb::Operation::descriptor()->FindOneofByName("op");
  ASSERT_EQ(info.operations_size(), oneof->field_count());
  for (int i = 0; i < oneof->field_count(); ++i) EXPECT_EQ(info.operations(i).name(), oneof->field(i)->name());
  const auto& gaussian = info.operations(6);
  EXPECT_EQ(gaussian.name(), "gaussian_blur");
  EXPECT_EQ(gaussian.parameters(0).name(), "kernel_width");
  EXPECT_FALSE(gaussian.parameters(0).range().empty());
}

// 64 clients, 50 requests each, small images: every answer correct.
TEST_F(ServerTest, SixtyFourConcurrentClients) {
  const cv::Mat image = GeneratedImage(256, 256);
  const std::string png = EncodeAs(image, ".png");
  cv::Mat expected;
  cv::resize(image, expected, {128, 128}, 0, 0, cv::INTER_LINEAR);
  cv::flip(expected, expected, 0);
  std::atomic<int> ok{0}, wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 64; ++t) {
    clients.emplace_back([&, t] {
      auto stub = server_->NewStub();
      for (int i = 0; i < 50; ++i) {
        pb::ProcessRequest request;
        request.set_image(png);
        request.add_operations()->mutable_resize()->set_scale(0.5);
        request.add_operations()->mutable_flip()->set_axis(pb::Flip::AXIS_VERTICAL);
        request.mutable_output()->mutable_raw();
        request.set_request_id(std::to_string(t) + "/" + std::to_string(i));
        pb::ProcessResponse response;
        if (!CallProcess(*stub, request, &response).ok()) {
          ++failed;
        } else if (response.request_id() == request.request_id() &&
                   Compare(RawToMat(response.image(), 128, 128, 3, pb::DTYPE_UINT8), expected).max_abs == 0) {
          ++ok;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok, 64 * 50);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(failed, 0);
}

// A request slow enough on one CPU worker to hold it busy while others queue up behind it.
pb::ProcessRequest SlowRequest() {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Wood.jpg")));
  auto* bilateral = request.add_operations()->mutable_bilateral_filter();
  bilateral->set_diameter(25);
  bilateral->set_sigma_color(50);
  bilateral->set_sigma_space(50);
  request.mutable_output()->mutable_png()->set_compression_level(0);
  return request;
}

TEST(OverloadTest, FullQueueIsResourceExhaustedAndExpiredDeadlineIsSkipped) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--queue_capacity=1"});
  ASSERT_TRUE(server.started());
  ASSERT_GT(server.metrics_port(), 0);
  auto stub = server.NewStub();
  const pb::ProcessRequest slow = SlowRequest();  // seconds on one CPU worker
  auto call_async = [&](const pb::ProcessRequest& request) {
    return std::async(std::launch::async, [&stub, &request] {
      pb::ProcessResponse response;
      return CallProcess(*stub, request, &response);
    });
  };
  // One runs, one waits, the rest find the queue full.
  auto running = call_async(slow);
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  auto waiting = call_async(slow);
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 2, 1));
  for (int i = 0; i < 4; ++i) {
    pb::ProcessResponse response;
    const grpc::Status refused = CallProcess(*stub, slow, &response);
    EXPECT_EQ(refused.error_code(), grpc::RESOURCE_EXHAUSTED) << refused.error_message();
  }
  EXPECT_TRUE(running.get().ok());
  EXPECT_TRUE(waiting.get().ok());

  // Queued behind a slow one with a deadline far shorter than its run time: skipped, not run.
  pb::ProcessRequest quick;
  quick.set_image(EncodeAs(GeneratedImage(64, 64), ".png"));
  pb::ProcessResponse quick_response;
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 0, 0));
  auto busy = call_async(slow);
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  grpc::Status expired = CallProcess(*stub, quick, &quick_response, milliseconds(200));
  EXPECT_EQ(expired.error_code(), grpc::DEADLINE_EXCEEDED) << expired.error_message();
  EXPECT_TRUE(busy.get().ok());
  // Still serving, at once: the expired request gave its place in the full queue up.
  const grpc::Status retried = CallProcess(*stub, quick, &quick_response);
  EXPECT_TRUE(retried.ok()) << retried.error_code() << ": " << retried.error_message();
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

TEST(StreamBackpressureTest, AClientThatDoesNotReadStopsBeingServedAtTheInFlightBound) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2", "--max_stream_in_flight=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  // 12 MB answers (1000x1000x3 float32): a few fill the client's receive window, so unread answers stay unwritten.
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(1000, 1000), ".png"));
  request.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_FLOAT32);
  grpc::ClientContext context;
  context.set_deadline(system_clock::now() + std::chrono::minutes(2));
  auto stream = stub->ProcessStream(&context);
  constexpr int kRequests = 16;
  // Written from another thread: once the server stops reading, writes block on flow control.
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; i < kRequests; ++i) {
      request.set_request_id(std::to_string(i));
      if (!stream->Write(StreamItem(request))) return false;
    }
    return stream->WritesDone();
  });
  // Not a timing assertion: time enough for the old server to run all 16 (~0.1 s each here), and the new one
  // must stay at its bound however long the client waits.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double processed = MetricSum(server.metrics_port(), "imgproc_requests_total");
  // Before, answers piled up unwritten and all 16 ran; now the server stops reading at the bound: two owed,
  // plus at most what the client's window let through (less than one 12 MB answer with gRPC's defaults).
  EXPECT_LE(processed, 4) << "the server kept reading a stream whose answers nobody read";
  int answers = 0;
  pb::ProcessStreamResponse response;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.status().code(), 0) << response.status().message();
    ++answers;
  }
  EXPECT_TRUE(writer.get());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answers, kRequests);
  std::printf("requests run while the client did not read: %g of %d\n", processed, kRequests);
}

TEST(ShutdownTest, SigtermFinishesRequestsInFlightAndExitsZero) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2", "--shutdown_grace=60s"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const pb::ProcessRequest request = [] {
    pb::ProcessRequest r;
    r.set_image(ReadFile(PhotoPath("nature/Aqua.jpg")));
    auto* bilateral = r.add_operations()->mutable_bilateral_filter();  // about half a second each here
    bilateral->set_diameter(15);
    bilateral->set_sigma_color(40);
    bilateral->set_sigma_space(40);
    return r;
  }();
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 12; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      pb::ProcessResponse response;
      grpc::Status s = CallProcess(*stub, request, &response);
      if (s.ok() && response.width() != 2560) return grpc::Status(grpc::INTERNAL, "wrong answer");
      return s;
    }));
  }
  std::this_thread::sleep_for(milliseconds(300));  // all sent, most still queued
  const int exit_code = server.Stop(SIGTERM, 120);
  int succeeded = 0;
  for (auto& call : calls) {
    grpc::Status s = call.get();
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    succeeded += s.ok();
  }
  EXPECT_EQ(succeeded, 12);
  EXPECT_EQ(exit_code, 0);
}

}  // namespace
}  // namespace imgproc::testing

namespace imgproc::testing {
namespace {

// The command-line tools' chains: what the proto lacks is named, with the choices it has.
TEST(OperationChainTest, ParsesProtoNamesAndNamesWhatTheProtoLacksWithItsChoices) {
  const absl::StatusOr<google::protobuf::RepeatedPtrField<pb::Operation>> chain =
      cli::ParseOperationChain("resize width=60 height=40 interpolation=INTERPOLATION_AREA | flip axis=AXIS_BOTH");
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2);
  EXPECT_EQ((*chain)[0].resize().width(), 60);
  EXPECT_EQ((*chain)[0].resize().interpolation(), pb::INTERPOLATION_AREA);
  EXPECT_EQ((*chain)[1].flip().axis(), pb::Flip::AXIS_BOTH);
  auto error = [](const std::string& text) {
    const absl::Status status = cli::ParseOperationChain(text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    return std::string(status.message());
  };
  EXPECT_NE(error("resize widht=60").find("resize has no field 'widht'; its fields: "), std::string::npos);
  EXPECT_NE(error("resize widht=60").find("width"), std::string::npos);
  EXPECT_EQ(error("flip mode=FLIP_HORIZONTAL"), "flip has no field 'mode'; its fields: axis");
  EXPECT_EQ(error("flip axis=SIDEWAYS"),
            "flip.axis: no value 'SIDEWAYS'; choices: AXIS_HORIZONTAL, AXIS_VERTICAL, AXIS_BOTH");
  EXPECT_NE(
      error("resize width=10 | flp").find("unknown operation 'flp' in step 'flp'; operations: bilateral_filter, "),
      std::string::npos);
  EXPECT_NE(error("resize width=abc").find("Expected integer, got: abc"), std::string::npos);
}

TEST_F(ServerTest, ClientLibraryProcessesStreamsAndServerInfo) {
  ImgprocClient client(server_->address());
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(120, 80), ".png"));
  auto* resize = request.add_operations()->mutable_resize();
  resize->set_width(60);
  resize->set_height(40);
  request.mutable_output()->mutable_png();
  const absl::StatusOr<pb::ProcessResponse> response = client.Process(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->width(), 60);
  EXPECT_EQ(response->height(), 40);
  // An error carries the gRPC code and the server's message, naming the field.
  pb::ProcessRequest bad = request;
  bad.mutable_operations(0)->mutable_resize()->set_width(-1);
  const absl::Status refused = client.Process(bad).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_NE(refused.message().find("operations[0].resize.width"), absl::string_view::npos) << refused;

  // A bad item fails its own answer, not the stream; answers come with their request_id, in any order.
  auto stream = client.OpenStream();
  for (int i = 0; i < 10; ++i) {
    request.set_request_id(std::to_string(i));
    ASSERT_TRUE(stream->Send(request));
  }
  bad.set_request_id("bad");
  ASSERT_TRUE(stream->Send(bad));
  stream->DoneSending();
  std::set<std::string> ids;
  int answers = 0;
  while (std::optional<StreamAnswer> answer = stream->Read()) {
    ++answers;
    if (answer->request_id == "bad") {
      EXPECT_EQ(answer->response.status().code(), absl::StatusCode::kInvalidArgument) << answer->response.status();
      continue;
    }
    ASSERT_TRUE(answer->response.ok()) << answer->request_id << ": " << answer->response.status();
    EXPECT_EQ(answer->response->width(), 60);
    ids.insert(answer->request_id);
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answers, 11);
  EXPECT_EQ(ids.size(), 10u);

  const absl::StatusOr<pb::GetServerInfoResponse> info = client.GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->backend(), pb::BACKEND_CPU);
}

// --help shows each program's example and its own flags: Abseil's default lists only the flags of files named like
// the program, which none of ours are ("No flags matched").
TEST(HelpTest, EachProgramsHelpShowsItsExampleAndItsOwnFlags) {
  struct Program {
    std::string binary;
    std::string example;
    std::vector<std::string> flags;
  };
  const std::vector<Program> programs = {
      {ServerBinary(), "imgproc-server --listen=", {"--listen", "--max_input_bytes", "--log_format"}},
      {IMGPROC_CLI_BINARY, "imgproc-cli --target=", {"--ops", "--timeout", "--tls_ca"}},
      {IMGPROC_LOAD_BINARY, "imgproc-load --target=", {"--concurrency", "--report_format", "--tls_ca"}}};
  for (const Program& program : programs) {
    FILE* pipe = popen((program.binary + " --help 2>&1").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char chunk[512];
    while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) output.append(chunk, n);
    pclose(pipe);  // Abseil ends --help with exit code 1
    EXPECT_NE(output.find(program.example), std::string::npos) << output;
    EXPECT_EQ(output.find("No flags matched"), std::string::npos) << output;
    for (const std::string& flag : program.flags) {
      EXPECT_NE(output.find(flag + " ("), std::string::npos) << flag << " in\n" << output;
    }
  }
}

// IMGPROC_<FLAG> sets any of the server's flags (app/server_flags.h lists them); the command line wins; a bad value
// stops the server with exit code 2; the test-only fault injection cannot be switched on from the environment, even
// in imgproc-server-testing.
TEST(ServerConfigTest, EnvironmentSetsFlagDefaultsAndTheCommandLineWins) {
  struct Env {
    Env(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~Env() { unsetenv(name_); }
    const char* name_;
  };
  auto limits_of = [](ServerProcess& server) {
    pb::GetServerInfoResponse info;
    grpc::ClientContext context;
    EXPECT_TRUE(server.NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
    return std::make_pair(info.limits().max_operations(), info.devices(0).queue_capacity());
  };
  {
    Env operations("IMGPROC_MAX_OPERATIONS", "3");
    Env queue("IMGPROC_QUEUE_CAPACITY", "9");
    Env fault("IMGPROC_TEST_FAULT_INJECTION", "device_failure_after=0");
    ServerProcess from_env({"--backend=cpu", "--cpu_workers=1"}, TestingServerBinary());
    ASSERT_TRUE(from_env.started());
    EXPECT_EQ(limits_of(from_env), std::make_pair(3, 9));
    auto stub = from_env.NewStub();
    EXPECT_TRUE(CallProcess(*stub, SmallFlipRequest()).ok()) << "the fault injection must stay off";
    ServerProcess overridden({"--backend=cpu", "--cpu_workers=1", "--max_operations=4"});
    ASSERT_TRUE(overridden.started());
    EXPECT_EQ(limits_of(overridden), std::make_pair(4, 9));
  }
  Env bad("IMGPROC_QUEUE_CAPACITY", "many");
  ServerProcess refused({"--backend=cpu"});
  EXPECT_FALSE(refused.started());
  EXPECT_EQ(refused.WaitForExit(std::chrono::seconds(30)), 2);
}

// A sample of IMGPROC_<FLAG> variables, one per kind of field (backend choice, workers, devices, the engine's
// limits, a memory budget), each seen where the server reports it: GetServerInfo and /metrics.
TEST(ServerConfigTest, EnvironmentVariablesReachGetServerInfoAndMetrics) {
  const std::vector<std::pair<const char*, const char*>> sample = {{"IMGPROC_BACKEND", "cpu"},
                                                                   {"IMGPROC_CPU_WORKERS", "3"},
                                                                   {"IMGPROC_CPU_DEVICES", "2"},
                                                                   {"IMGPROC_MAX_INPUT_BYTES", "1234567"},
                                                                   {"IMGPROC_MAX_WIDTH", "1000"},
                                                                   {"IMGPROC_MAX_HEIGHT", "900"},
                                                                   {"IMGPROC_MAX_PIXELS", "800000"},
                                                                   {"IMGPROC_MAX_JPEG_SCANS", "7"},
                                                                   {"IMGPROC_MAX_QUEUED_BYTES", "7654321"}};
  for (const auto& [name, value] : sample) setenv(name, value, 1);
  ServerProcess server;
  for (const auto& [name, value] : sample) unsetenv(name);
  ASSERT_TRUE(server.started());
  pb::GetServerInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(server.NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  EXPECT_EQ(info.backend(), pb::BACKEND_CPU);
  ASSERT_EQ(info.devices_size(), 2);
  EXPECT_EQ(info.devices(1).workers(), 3);
  EXPECT_EQ(info.limits().max_input_bytes(), 1234567);
  EXPECT_EQ(info.limits().max_width(), 1000);
  EXPECT_EQ(info.limits().max_height(), 900);
  EXPECT_EQ(info.limits().max_pixels(), 800000);
  EXPECT_EQ(info.limits().max_jpeg_scans(), 7);
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find(R"(imgproc_memory_budget_bytes{budget="queued_input",source="flag"} 7654321)"),
            std::string::npos)
      << metrics;
}

// The spellings before the glossary's still work, with a warning; the old and the new one given with different
// values is a configuration error (exit code 2), with the same value it is not.
TEST(ServerConfigTest, DeprecatedSpellingsWorkAndMustAgreeWithTheNewOnes) {
  ServerProcess agreeing({"--backend=cpu", "--cpu_workers=1", "--gpu_workers=2", "--cuda_workers=2",
                          "--decode_max_delay_us=1000", "--max_decode_delay=1ms", "--jpeg_encode=gpu"});
  ASSERT_TRUE(agreeing.started());
  ServerProcess on_the_command_line({"--backend=cpu", "--decode_max_delay_us=500", "--max_decode_delay=1ms"});
  EXPECT_FALSE(on_the_command_line.started());
  EXPECT_EQ(on_the_command_line.WaitForExit(std::chrono::seconds(30)), 2);
  setenv("IMGPROC_GPU_WORKERS", "3", 1);
  setenv("IMGPROC_CUDA_WORKERS", "4", 1);
  ServerProcess in_the_environment({"--backend=cpu"});
  // The command line's new spelling wins over the environment's old one, as over any variable.
  ServerProcess overridden({"--backend=cpu", "--cpu_workers=1", "--cuda_workers=5"});
  unsetenv("IMGPROC_GPU_WORKERS");
  unsetenv("IMGPROC_CUDA_WORKERS");
  EXPECT_FALSE(in_the_environment.started());
  EXPECT_EQ(in_the_environment.WaitForExit(std::chrono::seconds(30)), 2);
  EXPECT_TRUE(overridden.started());
}

// What `command` writes (stdout and stderr), and its exit status in `status` (pclose's).
std::string CommandOutput(const std::string& command, int* status) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  if (pipe == nullptr) return output;
  char chunk[512];
  while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) output.append(chunk, n);
  *status = pclose(pipe);
  return output;
}

// --test_fault_injection exists only in imgproc-server-testing: the production binary neither lists it nor takes it.
TEST(ServerConfigTest, TheProductionServerHasNoTestFaultInjection) {
  int status = 0;
  const std::string help = CommandOutput(ServerBinary() + " --help", &status);
  EXPECT_NE(help.find("--max_input_bytes ("), std::string::npos) << help;
  EXPECT_EQ(help.find("test_fault_injection"), std::string::npos) << help;
  const std::string refused =
      CommandOutput(ServerBinary() + " --backend=cpu --test_fault_injection=device_failure_after=0", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(refused.find("Unknown command line flag 'test_fault_injection'"), std::string::npos) << refused;
  const std::string testing_help = CommandOutput(TestingServerBinary() + " --help", &status);
  EXPECT_NE(testing_help.find("--test_fault_injection ("), std::string::npos) << testing_help;
}

}  // namespace
}  // namespace imgproc::testing
