// TLS and mutual TLS on the gRPC port, with certificates made by openssl for each test: the client library, the
// CLI and the load generator connect with the right certificates; plaintext clients, clients that do not trust
// the server's CA and, under mutual TLS, clients without a certificate from the server's client CA are refused.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <string>

#include "imgproc/client.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

#ifndef IMGPROC_CLI_BINARY
#error "IMGPROC_CLI_BINARY and IMGPROC_LOAD_BINARY must name the client executables"
#endif

namespace imgproc::testing {
namespace {

namespace fs = std::filesystem;

// Runs a shell command; its exit code, and what it printed (stdout and stderr) in `output`.
int RunShell(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Two CAs ("ca" and "other") in a fresh directory: a server certificate for 127.0.0.1 from "ca", and client
// certificates from each.
class Certificates {
 public:
  Certificates()
      : dir_(fs::temp_directory_path() /
             ("imgproc-tls-" + std::to_string(getpid()) + "-" + std::to_string(counter_++))) {
    fs::create_directories(dir_);
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string log;
    auto openssl = [&](const std::string& args) {
      if (RunShell("cd '" + dir_.string() + "' && openssl " + args, &log) != 0)
        ADD_FAILURE() << "openssl " << args << ":\n" << log;
    };
    for (const char* ca : {"ca", "other"}) {
      openssl("req -x509 " + key + " -days 2 -subj '/CN=imgproc test " + ca + "' -keyout " + ca + ".key -out " + ca +
              ".pem");
    }
    auto issue = [&](const std::string& name, const std::string& ca, const std::string& extension) {
      std::ofstream(dir_ / (name + ".ext")) << extension << "\n";
      openssl("req " + key + " -subj '/CN=" + name + "' -keyout " + name + ".key -out " + name + ".csr");
      openssl("x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
              ".key -CAcreateserial -days 2 -extfile " + name + ".ext -out " + name + ".pem");
    };
    issue("server", "ca", "subjectAltName=IP:127.0.0.1");
    issue("client", "ca", "extendedKeyUsage=clientAuth");
    issue("stranger", "other", "extendedKeyUsage=clientAuth");
  }
  ~Certificates() { fs::remove_all(dir_); }

  std::string Path(const std::string& file) const { return (dir_ / file).string(); }
  // The client library's TLS settings: the server's CA and, when `client` is not empty, that client's certificate.
  ClientTls Tls(const std::string& client = "") const {
    absl::StatusOr<ClientTls> tls = ClientTlsFromFiles(
        true, Path("ca.pem"), client.empty() ? "" : Path(client + ".pem"), client.empty() ? "" : Path(client + ".key"));
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *tls : ClientTls{};
  }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
};

// A flip of a generated PNG through `tls`: the status, and on success whether the answer is exactly cv::flip's.
absl::Status FlipThrough(const ServerProcess& server, const ClientTls& tls, bool* exact = nullptr) {
  ClientOptions options;
  options.tls = tls;
  options.max_attempts = 1;
  options.deadline = std::chrono::seconds(10);
  const ImgprocClient client(server.address(), options);
  const cv::Mat image = GeneratedImage(64, 48);
  pb::ProcessRequest request;
  request.set_image(EncodeAs(image, ".png"));
  request.add_operations()->mutable_flip();
  request.mutable_output()->mutable_png();
  const absl::StatusOr<pb::ProcessResponse> response = client.Process(request);
  if (response.ok() && exact != nullptr) {
    cv::Mat expected;
    cv::flip(image, expected, 1);
    const PixelDiff diff = Compare(DecodeLikeServer(response->image()), expected);
    *exact = diff.same_shape && diff.max_abs == 0;
  }
  return response.status();
}

TEST(TlsTest, ATlsPortServesClientsThatTrustItsCaAndRefusesPlaintextAndUntrustingOnes) {
  Certificates certs;
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--tls_cert=" + certs.Path("server.pem"),
                        "--tls_key=" + certs.Path("server.key")});
  ASSERT_TRUE(server.started());
  EXPECT_NE(server.first_line().find(", TLS ("), std::string::npos) << server.first_line();
  bool exact = false;
  const absl::Status served = FlipThrough(server, certs.Tls(), &exact);
  ASSERT_TRUE(served.ok()) << served;
  EXPECT_TRUE(exact);
  EXPECT_EQ(FlipThrough(server, ClientTls{}).code(), absl::StatusCode::kUnavailable);  // plaintext
  ClientTls system_roots;
  system_roots.enabled = true;  // the test CA is not among them
  EXPECT_EQ(FlipThrough(server, system_roots).code(), absl::StatusCode::kUnavailable);
}

TEST(TlsTest, MutualTlsServesClientsWithACertificateFromItsCaAndRefusesOthers) {
  Certificates certs;
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--tls_cert=" + certs.Path("server.pem"),
                        "--tls_key=" + certs.Path("server.key"), "--tls_client_ca=" + certs.Path("ca.pem")});
  ASSERT_TRUE(server.started());
  EXPECT_NE(server.first_line().find(", mutual TLS ("), std::string::npos) << server.first_line();
  bool exact = false;
  const absl::Status served = FlipThrough(server, certs.Tls("client"), &exact);
  ASSERT_TRUE(served.ok()) << served;
  EXPECT_TRUE(exact);
  EXPECT_EQ(FlipThrough(server, certs.Tls()).code(), absl::StatusCode::kUnavailable);            // no certificate
  EXPECT_EQ(FlipThrough(server, certs.Tls("stranger")).code(), absl::StatusCode::kUnavailable);  // another CA's
  EXPECT_TRUE(FlipThrough(server, certs.Tls("client")).ok());  // and the server still serves
}

TEST(TlsTest, TheCliAndTheLoadGeneratorConnectOverMutualTls) {
  Certificates certs;
  ServerProcess server({"--backend=cpu", "--cpu_workers=2", "--tls_cert=" + certs.Path("server.pem"),
                        "--tls_key=" + certs.Path("server.key"), "--tls_client_ca=" + certs.Path("ca.pem")});
  ASSERT_TRUE(server.started());
  const std::string tls = " --tls_ca=" + certs.Path("ca.pem") + " --tls_cert=" + certs.Path("client.pem") +
                          " --tls_key=" + certs.Path("client.key");
  std::string output;
  EXPECT_EQ(RunShell(std::string(IMGPROC_CLI_BINARY) + " --target=" + server.address() + tls + " info", &output), 0)
      << output;
  EXPECT_NE(output.find("bilateral_filter"), std::string::npos) << output;
  EXPECT_NE(RunShell(std::string(IMGPROC_CLI_BINARY) + " --target=" + server.address() +
                         " --tls_ca=" + certs.Path("ca.pem") + " --timeout=5s info",
                     &output),
            0)
      << "a CLI without a client certificate was served: " << output;

  const std::string photo = PhotoPath("nature/Dune.jpg");
  EXPECT_EQ(RunShell(std::string(IMGPROC_LOAD_BINARY) + " --target=" + server.address() + tls + " --input=" + photo +
                         " --ops='resize width=320 keep_aspect=true' --concurrency=2 --total=20 --verify_fraction=1 "
                         "--report_format=json --progress=false",
                     &output),
            0)
      << output;
  EXPECT_NE(output.find(R"("count":20,"ok":20,"errors":0,"wrong":0,"verified":20)"), std::string::npos) << output;
}

TEST(TlsTest, TheLibraryNamesTheFileThatCannotBeUsedAndTheCliItsFlag) {
  Certificates certs;
  const std::string missing = certs.Path("missing.pem"), not_pem = certs.Path("server.ext");
  const absl::Status unreadable = ClientTlsFromFiles(false, missing, "", "").status();
  EXPECT_EQ(unreadable.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unreadable.message(), "cannot read '" + missing + "': No such file or directory");
  EXPECT_EQ(ClientTlsFromFiles(false, not_pem, "", "").status().message(), "'" + not_pem + "' holds no PEM block");
  EXPECT_EQ(ClientTlsFromFiles(false, "", certs.Path("client.pem"), "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a certificate without its key";
  // The CLI knows which flag gave the path.
  std::string output;
  EXPECT_NE(RunShell(std::string(IMGPROC_CLI_BINARY) + " --target=127.0.0.1:1 --tls_ca=" + missing + " info", &output),
            0);
  EXPECT_NE(output.find("imgproc-cli: --tls_ca: cannot read '" + missing + "'"), std::string::npos) << output;
}

TEST(TlsTest, IncompleteOrUnreadableTlsFlagsStopTheServerWithExitCode2) {
  Certificates certs;
  const std::vector<std::vector<std::string>> bad = {
      {"--tls_cert=" + certs.Path("server.pem")},                                            // no key
      {"--tls_client_ca=" + certs.Path("ca.pem")},                                           // mutual TLS without TLS
      {"--tls_cert=" + certs.Path("missing.pem"), "--tls_key=" + certs.Path("server.key")},  // unreadable
      {"--tls_cert=" + certs.Path("server.ext"), "--tls_key=" + certs.Path("server.key")},   // no PEM in it
  };
  for (const std::vector<std::string>& flags : bad) {
    std::vector<std::string> args = {"--backend=cpu"};
    args.insert(args.end(), flags.begin(), flags.end());
    ServerProcess server(args);
    EXPECT_FALSE(server.started());
    EXPECT_EQ(server.WaitForExit(std::chrono::seconds(30)), 2) << flags[0];
  }
}

}  // namespace
}  // namespace imgproc::testing
