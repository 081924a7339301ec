#include "imgproc_testing/server_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include "imgproc_testing/test_support.h"

#if !defined(IMGPROC_SERVER_BINARY) || !defined(IMGPROC_TESTING_SERVER_BINARY)
#error "IMGPROC_SERVER_BINARY and IMGPROC_TESTING_SERVER_BINARY must name the server executables"
#endif

namespace imgproc::testing {

imgproc::v1::ProcessRequest SmallFlipRequest() {
  imgproc::v1::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(64, 48), ".png"));
  request.add_operations()->mutable_flip();
  request.mutable_output()->mutable_raw();
  return request;
}

grpc::Status CallProcess(imgproc::v1::ImageProcessorService::Stub& stub, const imgproc::v1::ProcessRequest& request,
                         imgproc::v1::ProcessResponse* response, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  imgproc::v1::ProcessResponse ignored;
  return stub.Process(&context, request, response != nullptr ? response : &ignored);
}

grpc::Status CallBatch(imgproc::v1::ImageProcessorService::Stub& stub, const imgproc::v1::ProcessBatchRequest& request,
                       imgproc::v1::ProcessBatchResponse* response, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  return stub.ProcessBatch(&context, request, response);
}

// IMGPROC_TEST_SERVER runs the suites against another build of the server, such as an image's installed one with
// only its runtime libraries on LD_LIBRARY_PATH (README, "Images").
std::string ServerBinary() {
  const char* other = std::getenv("IMGPROC_TEST_SERVER");
  return other != nullptr && *other != '\0' ? other : IMGPROC_SERVER_BINARY;
}

std::string TestingServerBinary() { return IMGPROC_TESTING_SERVER_BINARY; }

struct ServerProcess::Output {
  std::mutex mu;
  std::deque<std::string> lines;
  void Add(const char* line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
    if (lines.size() > 10000) lines.pop_front();
  }
};

std::vector<std::string> ServerProcess::output_lines() const {
  std::lock_guard<std::mutex> lock(output_->mu);
  return {output_->lines.begin(), output_->lines.end()};
}

ServerProcess::ServerProcess(std::vector<std::string> extra_flags, std::string binary)
    : output_(std::make_shared<Output>()) {
  // The arguments are made before fork: the child of a process with threads (another server's output reader, say)
  // may only make async-signal-safe calls, and an allocation there hung under AddressSanitizer.
  std::vector<std::string> args = {std::move(binary), "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // A test that dies (a sanitizer's report ends it at once) must not leave its server running: ctest would wait
    // for the server's stderr, which it inherited, until the test's timeout.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  // The server prints one line once it listens; its port is the one the kernel picked.
  FILE* stream = fdopen(out[0], "r");
  char line[1024];
  // Two lines once it is up: the gRPC port, then the metrics port (both picked by the kernel).
  const std::regex listening("listening on ([0-9.]+):([0-9]+)"), metrics("metrics on [0-9.]+:([0-9]+)");
  while (stream != nullptr && fgets(line, sizeof line, stream) != nullptr) {
    std::cmatch m;
    start_lines_.push_back(line);
    output_->Add(line);
    if (std::regex_search(line, m, listening)) {
      first_line_ = line;
      host_ = m[1];
      port_ = std::stoi(m[2]);
    } else if (std::regex_search(line, m, metrics)) {
      metrics_port_ = std::stoi(m[1]);
      break;
    }
  }
  // Keep draining its stdout in the background so the server never blocks on a full pipe.
  std::thread([stream, output = output_] {
    char sink[4096];
    while (stream != nullptr && fgets(sink, sizeof sink, stream) != nullptr) output->Add(sink);
    if (stream != nullptr) fclose(stream);
  }).detach();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGTERM, 30);
}

std::shared_ptr<grpc::Channel> ServerProcess::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<imgproc::v1::ImageProcessorService::Stub> ServerProcess::NewStub() const {
  return imgproc::v1::ImageProcessorService::NewStub(NewChannel());
}

int ServerProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  do {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < until);
  return kStillRunning;
}

int ServerProcess::Stop(int signal, int timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const int exit_code = WaitForExit(std::chrono::seconds(timeout_s));
  if (exit_code != kStillRunning) return exit_code;
  int status = 0;
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

ServerProcess* CpuServerSuite::server_ = nullptr;

void CpuServerSuite::SetUpTestSuite() {
  server_ = new ServerProcess({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server_->started()) << "server did not start";
}

void CpuServerSuite::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
}

std::map<std::string, int> AnswersByDevice(const ServerProcess& server, const imgproc::v1::ProcessRequest& request,
                                           int clients, int per_client) {
  std::mutex mu;
  std::map<std::string, int> answered_by;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto stub = server.NewStub();
      for (int i = 0; i < per_client; ++i) {
        imgproc::v1::ProcessResponse response;
        const bool ok = CallProcess(*stub, request, &response).ok();
        std::lock_guard<std::mutex> lock(mu);
        ++answered_by[ok ? response.device() : ""];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return answered_by;
}

}  // namespace imgproc::testing
