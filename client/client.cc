#include "imgproc/client.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pem_file.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

namespace {

// gRPC caps a retry policy's maxAttempts at 5; the library's own retries keep to the same.
int Attempts(const ClientOptions& options) { return std::clamp(options.max_attempts, 1, 5); }

// The server's grpc-retry-pushback-ms: how long to wait before trying again, or nothing when it sent none
// (or a negative or unreadable value, which gRPC defines as "do not retry").
std::optional<std::chrono::milliseconds> ServerPushback(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find("grpc-retry-pushback-ms");
  int64_t ms = -1;
  if (it == trailers.end() || !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) ||
      ms < 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

absl::StatusOr<ClientTls> ClientTlsFromFiles(bool enabled, const std::string& root_certificates_path,
                                             const std::string& certificate_chain_path,
                                             const std::string& private_key_path) {
  if (certificate_chain_path.empty() != private_key_path.empty()) {
    return absl::InvalidArgumentError("a client certificate and its private key go together: give both or neither");
  }
  ClientTls tls;
  tls.enabled =
      enabled || !root_certificates_path.empty() || !certificate_chain_path.empty() || !private_key_path.empty();
  for (auto [path, pem] :
       {std::pair{&root_certificates_path, &tls.root_certificates},
        std::pair{&certificate_chain_path, &tls.certificate_chain}, std::pair{&private_key_path, &tls.private_key}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text = ReadPemFile(*path);
    if (!text.ok()) return text.status();
    *pem = *std::move(text);
  }
  return tls;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const ClientTls& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.root_certificates;
  options.pem_cert_chain = tls.certificate_chain;
  options.pem_private_key = tls.private_key;
  return grpc::SslCredentials(options);
}

grpc::ChannelArguments ChannelArgumentsFor(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // raw float32 answers of large images exceed gRPC's 4 MB default
  args.SetMaxSendMessageSize(-1);
  std::string service_config;  // JSON members of the service config
  // With round_robin the channel also watches each replica's health, so that one draining before it stops (health
  // NOT_SERVING, see the server's --drain_delay) gets no new calls.
  if (options.round_robin) {
    service_config = R"("loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": "imgproc.v1.ImageProcessorService"})";
  }
  if (Attempts(options) > 1) {
    // RESOURCE_EXHAUSTED is not listed: gRPC would retry it with or without pushback (it honours pushback only
    // for listed codes), so Process retries it itself, and only with pushback.
    absl::StrAppend(&service_config, service_config.empty() ? "" : ", ",
                    R"("methodConfig": [{"name": [{"service": "imgproc.v1.ImageProcessorService"}],
        "retryPolicy": {"maxAttempts": )",
                    Attempts(options), R"(, "initialBackoff": "0.1s",
        "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}])");
    args.SetInt(GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE,
                static_cast<int>(std::clamp<int64_t>(options.retry_buffer_bytes, 0, INT32_MAX)));
    // After a refused connection gRPC waits 1 s before the next, longer than the retries above take, so a
    // server coming back would only be found once they were spent.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  } else {
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  }
  if (!service_config.empty()) args.SetServiceConfigJSON("{" + service_config + "}");
  return args;
}

std::shared_ptr<grpc::Channel> ImgprocClient::MakeChannel(const std::string& target, const ClientOptions& options) {
  return grpc::CreateCustomChannel(target, ChannelCredentialsFor(options.tls), ChannelArgumentsFor(options));
}

ImgprocClient::ImgprocClient(const std::string& target, ClientOptions options)
    : ImgprocClient(MakeChannel(target, options), options) {}

ImgprocClient::ImgprocClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : channel_(std::move(channel)), stub_(pb::ImageProcessorService::NewStub(channel_)), options_(options) {}

grpc::Status ImgprocClient::Process(const pb::ProcessRequest& request, pb::ProcessResponse* response) const {
  const auto deadline = std::chrono::system_clock::now() + options_.deadline;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    context.set_wait_for_ready(options_.wait_for_ready);
    const grpc::Status status = stub_->Process(&context, request, response);
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || attempt >= Attempts(options_)) return status;
    const std::optional<std::chrono::milliseconds> pushback = ServerPushback(context);
    if (!pushback || std::chrono::system_clock::now() + *pushback >= deadline) return status;
    std::this_thread::sleep_for(*pushback);
  }
}

grpc::Status ImgprocClient::GetServerInfo(pb::GetServerInfoResponse* info) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  context.set_wait_for_ready(options_.wait_for_ready);
  return stub_->GetServerInfo(&context, pb::GetServerInfoRequest(), info);
}

std::unique_ptr<ImgprocClient::Stream> ImgprocClient::OpenStream(std::chrono::milliseconds deadline) const {
  auto stream = std::make_unique<Stream>();
  stream->context_.set_deadline(std::chrono::system_clock::now() + deadline);
  stream->context_.set_wait_for_ready(options_.wait_for_ready);
  stream->rw_ = stub_->ProcessStream(&stream->context_);
  return stream;
}

bool ImgprocClient::Stream::Send(const pb::ProcessRequest& request) { return !writes_done_ && rw_->Write(request); }

bool ImgprocClient::Stream::Read(pb::ProcessStreamResponse* response) { return rw_->Read(response); }

grpc::Status ImgprocClient::Stream::Finish() {
  if (!writes_done_) {
    rw_->WritesDone();
    writes_done_ = true;
  }
  pb::ProcessStreamResponse ignored;
  while (rw_->Read(&ignored)) {
  }
  return rw_->Finish();
}

namespace {

std::string FieldNames(const google::protobuf::Descriptor& message) {
  std::vector<std::string> names;
  for (int i = 0; i < message.field_count(); ++i) names.push_back(message.field(i)->name());
  std::sort(names.begin(), names.end());
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

// Names what the proto does not have, with the choices it does: the operation, a field of it, an enum value. What
// passes goes on to protobuf's text parser, which checks the values' types.
bool CheckStepNames(absl::string_view step, const std::vector<std::string>& words, std::string* error) {
  const google::protobuf::Descriptor* operation = pb::Operation::descriptor();
  const google::protobuf::FieldDescriptor* op = operation->FindFieldByName(words[0]);
  if (op == nullptr || op->message_type() == nullptr) {
    *error =
        absl::StrCat("unknown operation '", words[0], "' in step '", step, "'; operations: ", FieldNames(*operation));
    return false;
  }
  const google::protobuf::Descriptor& params = *op->message_type();
  for (size_t i = 1; i < words.size(); ++i) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
    const google::protobuf::FieldDescriptor* field = params.FindFieldByName(kv.first);
    if (field == nullptr) {
      *error = absl::StrCat(words[0], " has no field '", kv.first, "'; its fields: ", FieldNames(params));
      return false;
    }
    if (const google::protobuf::EnumDescriptor* values = field->enum_type(); values != nullptr) {
      for (absl::string_view value : absl::StrSplit(kv.second, ',')) {
        int number = 0;
        if (values->FindValueByName(std::string(value)) != nullptr || absl::SimpleAtoi(value, &number)) continue;
        std::vector<std::string> names;
        for (int v = 0; v < values->value_count(); ++v) names.push_back(values->value(v)->name());
        *error =
            absl::StrCat(words[0], ".", kv.first, ": no value '", value, "'; choices: ", absl::StrJoin(names, ", "));
        return false;
      }
    }
  }
  return true;
}

// protobuf's first complaint about a value (its type or range), for the error message.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string& message) override {
    if (message_.empty()) message_ = message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

bool ParseOperationChain(const std::string& chain, pb::ProcessRequest* request, std::string* error) {
  // Each step becomes text format ("operations { resize { width: 640 } }") so that protobuf itself checks
  // every name and value against the proto.
  std::string text;
  for (absl::string_view step : absl::StrSplit(chain, '|', absl::SkipWhitespace())) {
    step = absl::StripAsciiWhitespace(step);
    std::vector<std::string> words = absl::StrSplit(step, ' ', absl::SkipEmpty());
    if (words.empty()) continue;
    std::string fields;
    for (size_t i = 1; i < words.size(); ++i) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
      if (kv.second.empty()) {
        *error = absl::StrCat("expected name=value, got '", words[i], "' in step '", step, "'");
        return false;
      }
      const bool list = kv.second.find(',') != std::string::npos;
      absl::StrAppend(&fields, kv.first, ": ", list ? "[" : "", kv.second, list ? "]" : "", " ");
    }
    if (!CheckStepNames(step, words, error)) return false;
    absl::StrAppend(&text, "operations { ", words[0], " { ", fields, "} } ");
  }
  pb::ProcessRequest parsed;
  google::protobuf::TextFormat::Parser parser;
  FirstError first;
  parser.RecordErrorsTo(&first);
  if (!parser.ParseFromString(text, &parsed)) {
    *error = absl::StrCat("cannot parse a value of the operation chain: ", first.message(), " (read as: ", text, ")");
    return false;
  }
  for (const auto& op : parsed.operations()) *request->add_operations() = op;
  return true;
}

}  // namespace imgproc

namespace imgproc {

bool MakeOutputSpec(const std::string& format, int quality, const std::string& dtype, const std::string& layout,
                    pb::OutputSpec* spec, std::string* error) {
  spec->Clear();
  if (format == "jpeg") {
    auto* jpeg = spec->mutable_jpeg();
    if (quality >= 0) jpeg->set_quality(quality);
  } else if (format == "png") {
    auto* png = spec->mutable_png();
    if (quality >= 0) png->set_compression_level(quality);
  } else if (format == "webp") {
    auto* webp = spec->mutable_webp();
    if (quality >= 0) webp->set_quality(quality);
  } else if (format == "avif") {
    auto* avif = spec->mutable_avif();
    if (quality >= 0) avif->set_quality(quality);
  } else if (format == "heic") {
    auto* heic = spec->mutable_heic();
    if (quality >= 0) heic->set_quality(quality);
  } else if (format == "tiff") {
    spec->mutable_tiff();  // deflate; 16-bit from a 16-bit chain
  } else if (format == "raw") {
    if ((dtype != "uint8" && dtype != "float32" && dtype != "uint16") || (layout != "hwc" && layout != "chw")) {
      *error = "raw output needs dtype uint8|uint16|float32 and layout hwc|chw";
      return false;
    }
    spec->mutable_raw()->set_dtype(dtype == "float32"  ? pb::DTYPE_FLOAT32
                                   : dtype == "uint16" ? pb::DTYPE_UINT16
                                                       : pb::DTYPE_UINT8);
    spec->mutable_raw()->set_layout(layout == "chw" ? pb::LAYOUT_CHW : pb::LAYOUT_HWC);
  } else {
    *error = "output format must be jpeg, png, webp, avif, heic, tiff or raw (got '" + format + "')";
    return false;
  }
  return true;
}

bool SetEncoderOptions(bool progressive, const std::string& chroma_subsampling, bool optimize, int speed,
                       pb::OutputSpec* spec, std::string* error) {
  pb::ChromaSubsampling chroma = pb::CHROMA_SUBSAMPLING_DEFAULT;
  if (chroma_subsampling == "420") {
    chroma = pb::CHROMA_SUBSAMPLING_420;
  } else if (chroma_subsampling == "422") {
    chroma = pb::CHROMA_SUBSAMPLING_422;
  } else if (chroma_subsampling == "444") {
    chroma = pb::CHROMA_SUBSAMPLING_444;
  } else if (!chroma_subsampling.empty()) {
    *error = "chroma subsampling must be 420, 422 or 444 (got '" + chroma_subsampling + "')";
    return false;
  }
  if (spec->has_jpeg() || spec->format_case() == pb::OutputSpec::FORMAT_NOT_SET) {
    if (speed >= 0) {
      *error = "speed is an AVIF and HEIC option";
      return false;
    }
    auto* jpeg = spec->mutable_jpeg();
    jpeg->set_progressive(progressive);
    jpeg->set_chroma_subsampling(chroma);
    jpeg->set_optimize(optimize);
  } else if (spec->has_avif()) {
    if (progressive || optimize) {
      *error = "progressive and optimize are JPEG options";
      return false;
    }
    if (speed >= 0) spec->mutable_avif()->set_speed(speed);
    spec->mutable_avif()->set_chroma_subsampling(chroma);
  } else if (spec->has_heic()) {
    if (progressive || optimize) {
      *error = "progressive and optimize are JPEG options";
      return false;
    }
    if (speed >= 0) spec->mutable_heic()->set_speed(speed);
    spec->mutable_heic()->set_chroma_subsampling(chroma);
  } else if (progressive || optimize || speed >= 0 || !chroma_subsampling.empty()) {
    *error = "progressive, chroma subsampling, optimize and speed are JPEG, AVIF and HEIC options";
    return false;
  }
  return true;
}

bool ParseMetadataPolicy(const std::string& words, pb::MetadataPolicy* policy, std::string* error) {
  policy->Clear();
  if (words.empty() || words == "none") return true;
  for (absl::string_view word : absl::StrSplit(words, ',')) {
    if (word == "icc") {
      policy->set_keep_icc_profile(true);
    } else if (word == "xmp") {
      policy->set_keep_xmp(true);
    } else if ((word == "exif" || word == "copyright") && policy->exif() != pb::EXIF_POLICY_STRIP) {
      *error = "metadata: exif and copyright exclude each other (copyright keeps EXIF's Copyright and Artist alone)";
      return false;
    } else if (word == "exif") {
      policy->set_exif(pb::EXIF_POLICY_KEEP);
    } else if (word == "copyright") {
      policy->set_exif(pb::EXIF_POLICY_COPYRIGHT_ONLY);
    } else {
      *error = absl::StrCat("metadata: '", word, "' is not one of icc, exif, copyright, xmp, none");
      return false;
    }
  }
  return true;
}

}  // namespace imgproc
