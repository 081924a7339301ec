// imgproc-cli: process a file through an imgproc server, or show what the server offers.
//
//   imgproc-cli --target=127.0.0.1:50051 info
//   imgproc-cli process --in=photo.jpg --out=thumb.jpg \
//       --ops="resize width=640 keep_aspect=true | gaussian_blur kernel_width=5 sigma_x=1.5" --format=jpeg --quality=90
//
// --ops is a '|'-separated chain; each step is an Operation field name followed by name=value parameters
// of its message (enums by their proto names, lists comma-separated: mean=0.485,0.456,0.406).
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/channel_flags.h"
#include "cli/request_parsing.h"
#include "imgproc/client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(std::string, in, "", "input image file");
ABSL_FLAG(std::string, out, "", "output file");
ABSL_FLAG(std::string, ops, "", "operation chain, e.g. \"resize scale=0.5 | flip axis=AXIS_VERTICAL\"");
ABSL_FLAG(std::string, format, "jpeg", "jpeg, png, webp, avif, heic, tiff or raw");
ABSL_FLAG(int, quality, -1, "JPEG/WebP/AVIF quality or PNG compression level; -1: the server's default");
ABSL_FLAG(bool, progressive, false, "JPEG: progressive (SOF2) instead of baseline");
ABSL_FLAG(std::string, chroma_subsampling, "",
          "JPEG, AVIF and HEIC: 420, 422 or 444; empty: the format's default (420)");
ABSL_FLAG(bool, optimize, false, "JPEG: Huffman tables optimized for the image");
ABSL_FLAG(
    int, speed, -1,
    "AVIF: encoder speed 0 (slowest, smallest) to 10; HEIC: 0 to 9 (x265's presets); -1: the server's default (8)");
ABSL_FLAG(std::string, dtype, "uint8", "raw output: uint8, uint16 or float32");
ABSL_FLAG(int, depth, 8, "bits per sample the chain works on: 8, or 16 (16-bit PNG/TIFF kept, 8-bit sources x257)");
ABSL_FLAG(std::string, layout, "hwc", "raw output: hwc or chw");
ABSL_FLAG(std::string, decode, "color", "color, grayscale or unchanged");
ABSL_FLAG(std::string, device, "", "device to run on (see info); empty: the server picks");
ABSL_FLAG(bool, shrink_on_load, true,
          "let the CPU backend decode a JPEG/WebP at 1/2, 1/4 or 1/8 when the chain starts with such a downscale; "
          "false: full-size decode, bit-exact with OpenCV");
ABSL_FLAG(bool, strict_decode, false,
          "refuse a file cut short or with damaged data (INVALID_ARGUMENT) instead of answering its partial decode");
ABSL_FLAG(std::string, keep_metadata, "",
          "what of the input's metadata the answer keeps, comma-separated: icc, exif, copyright (EXIF's Copyright and "
          "Artist alone), xmp; empty: none");
ABSL_FLAG(std::string, color_policy, "convert",
          "an input's colour profile: convert (to sRGB), keep (pixels as stored, profile kept) or ignore");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of the call, e.g. 30s or 500ms");

namespace pb = ::imgproc::v1;

namespace {

int Fail(const std::string& message) {
  std::cerr << "imgproc-cli: " << message << "\n";
  return 1;
}

// An enum value as people read it: IMAGE_FORMAT_JPEG -> "jpeg", BACKEND_CUDA -> "cuda".
std::string Word(const std::string& value_name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(value_name, prefix));
}
std::string Word(pb::ImageFormat format) { return Word(pb::ImageFormat_Name(format), "IMAGE_FORMAT_"); }
std::string Word(pb::Backend backend) { return Word(pb::Backend_Name(backend), "BACKEND_"); }
std::string Word(pb::Dtype dtype) { return Word(pb::Dtype_Name(dtype), "DTYPE_"); }
std::string Word(pb::ColorAction action) { return Word(pb::ColorAction_Name(action), "COLOR_ACTION_"); }
template <typename Enum>
std::string Words(const google::protobuf::RepeatedField<int>& values) {
  return absl::StrJoin(values, ",", [](std::string* out, int v) { out->append(Word(static_cast<Enum>(v))); });
}

int Info(const imgproc::ImgprocClient& client) {
  absl::StatusOr<pb::GetServerInfoResponse> answer = client.GetServerInfo();
  if (!answer.ok()) return Fail(absl::StrCat("GetServerInfo: ", answer.status().message()));
  const pb::GetServerInfoResponse& info = *answer;
  std::cout << "imgproc " << info.version() << " (" << info.git_revision() << "), OpenCV " << info.opencv_version()
            << ", gRPC " << info.grpc_version() << "\nbackend: " << Word(info.backend()) << " ("
            << info.backend_reason() << ")\n";
  for (const auto& d : info.devices()) {
    std::cout << "device " << d.name() << ": " << d.description() << ", " << d.workers() << " workers, queue "
              << d.queue_capacity() << "\n";
  }
  std::cout << "limits: " << info.limits().max_width() << "x" << info.limits().max_height() << ", "
            << info.limits().max_pixels() << " pixels, " << info.limits().max_input_bytes() << " bytes\n";
  for (const auto& f : info.output_format_options()) {
    std::cout << "output " << Word(f.format()) << ": " << f.encoder() << "\n";
    for (const auto& p : f.options()) {
      std::cout << "      " << p.name() << " (" << p.type() << (p.range().empty() ? "" : ", " + p.range())
                << ", default " << p.default_value() << ")\n";
    }
  }
  for (const auto& f : info.output_format_metadata()) {
    std::cout << "output " << Word(f.format()) << " carries:" << (f.icc_profile() ? " icc" : "")
              << (f.exif() ? " exif" : "") << (f.xmp() ? " xmp" : "")
              << (f.icc_profile() || f.exif() || f.xmp() ? "" : " no metadata") << "\n";
  }
  std::cout << "operations:\n";
  for (const auto& op : info.operations()) {
    std::cout << "  " << op.name() << " [" << Words<pb::Backend>(op.backends()) << "; " << Words<pb::Dtype>(op.depths())
              << (op.cuda_depths().empty() ? "" : absl::StrCat("; cuda ", Words<pb::Dtype>(op.cuda_depths())))
              << "]: " << op.description() << "\n";
    for (const auto& p : op.parameters()) {
      std::cout << "      " << p.name() << " (" << p.type() << (p.range().empty() ? "" : ", " + p.range())
                << ", default " << p.default_value() << ")\n";
    }
  }
  return 0;
}

int Process(const imgproc::ImgprocClient& client) {
  pb::ProcessRequest request;
  std::ifstream in(absl::GetFlag(FLAGS_in), std::ios::binary);
  if (absl::GetFlag(FLAGS_in).empty() || !in) return Fail("--in: cannot read '" + absl::GetFlag(FLAGS_in) + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  request.set_image(buffer.str());
  absl::StatusOr<google::protobuf::RepeatedPtrField<pb::Operation>> operations =
      imgproc::cli::ParseOperationChain(absl::GetFlag(FLAGS_ops));
  if (!operations.ok()) return Fail(std::string(operations.status().message()));
  *request.mutable_operations() = *std::move(operations);
  const std::string decode = absl::GetFlag(FLAGS_decode);
  request.set_decode_mode(decode == "grayscale"   ? pb::DECODE_MODE_GRAYSCALE
                          : decode == "unchanged" ? pb::DECODE_MODE_UNCHANGED
                                                  : pb::DECODE_MODE_COLOR);
  absl::StatusOr<pb::OutputSpec> output =
      imgproc::cli::MakeOutputSpec(absl::GetFlag(FLAGS_format), absl::GetFlag(FLAGS_quality),
                                   absl::GetFlag(FLAGS_dtype), absl::GetFlag(FLAGS_layout));
  if (!output.ok()) return Fail(std::string(output.status().message()));
  *request.mutable_output() = *std::move(output);
  if (absl::Status encoder = imgproc::cli::SetEncoderOptions(
          absl::GetFlag(FLAGS_progressive), absl::GetFlag(FLAGS_chroma_subsampling), absl::GetFlag(FLAGS_optimize),
          absl::GetFlag(FLAGS_speed), *request.mutable_output());
      !encoder.ok()) {
    return Fail(std::string(encoder.message()));
  }
  absl::StatusOr<pb::MetadataPolicy> metadata = imgproc::cli::ParseMetadataPolicy(absl::GetFlag(FLAGS_keep_metadata));
  if (!metadata.ok()) return Fail(std::string(metadata.status().message()));
  *request.mutable_output()->mutable_metadata() = *std::move(metadata);
  request.set_device(absl::GetFlag(FLAGS_device));
  request.set_disable_shrink_on_load(!absl::GetFlag(FLAGS_shrink_on_load));
  request.set_strict_decode(absl::GetFlag(FLAGS_strict_decode));
  if (absl::GetFlag(FLAGS_depth) != 8 && absl::GetFlag(FLAGS_depth) != 16) return Fail("--depth must be 8 or 16");
  request.set_decode_depth(absl::GetFlag(FLAGS_depth) == 16 ? pb::SAMPLE_DEPTH_16 : pb::SAMPLE_DEPTH_8);
  const std::string color_policy = absl::GetFlag(FLAGS_color_policy);
  if (color_policy != "convert" && color_policy != "keep" && color_policy != "ignore") {
    return Fail("--color_policy: convert, keep or ignore (got '" + color_policy + "')");
  }
  request.set_color_policy(color_policy == "keep"     ? pb::COLOR_POLICY_KEEP
                           : color_policy == "ignore" ? pb::COLOR_POLICY_IGNORE
                                                      : pb::COLOR_POLICY_CONVERT_TO_SRGB);
  request.set_request_id("cli");

  absl::StatusOr<pb::ProcessResponse> answer = client.Process(request);
  if (!answer.ok()) {
    return Fail(
        absl::StrCat("Process failed: ", static_cast<int>(answer.status().code()), " ", answer.status().message()));
  }
  const pb::ProcessResponse& response = *answer;
  const std::string out_path = absl::GetFlag(FLAGS_out);
  if (!out_path.empty()) {
    std::ofstream out(out_path, std::ios::binary);
    out.write(response.image().data(), static_cast<std::streamsize>(response.image().size()));
    if (!out) return Fail("--out: cannot write '" + out_path + "'");
  }
  const auto& t = response.timings();
  std::cout << "wrote " << (out_path.empty() ? "(nothing)" : out_path) << ": " << Word(response.format()) << " "
            << response.width() << "x" << response.height() << "x" << response.channels() << " "
            << Word(response.dtype()) << ", " << response.image().size() << " bytes, on " << response.device()
            << "\ntimings (us): batch " << t.batch_wait_us() << ", queue " << t.queue_wait_us() << ", decode "
            << t.decode_us() << ", upload " << t.upload_us() << ", operations " << t.operations_us() << ", download "
            << t.download_us() << ", encode " << t.encode_us() << ", total " << t.total_us() << "\n";
  for (const auto& op : response.cpu_fallback_operations()) std::cout << "ran on the CPU: " << op << "\n";
  if (!response.encode_fallback_reason().empty())
    std::cout << "encoded on the CPU: " << response.encode_fallback_reason() << "\n";
  if (response.decode_shrink_factor() > 1) {
    std::cout << "decoded at 1/" << response.decode_shrink_factor() << " of its size (shrink-on-load)\n";
  }
  if (response.partial_decode()) std::cout << "partial decode: " << response.partial_decode_reason() << "\n";
  if (response.has_metadata()) {
    const pb::MetadataKept& kept = response.metadata();
    std::vector<std::string> blocks;
    if (kept.icc_profile()) blocks.push_back("icc profile");
    if (kept.exif()) blocks.push_back("exif");
    if (kept.xmp()) blocks.push_back("xmp");
    std::cout << "metadata kept: " << (blocks.empty() ? "none" : absl::StrJoin(blocks, ", ")) << "\n";
    for (const std::string& why : kept.not_kept()) std::cout << "metadata not kept: " << why << "\n";
  }
  if (const pb::ColorReport& color = response.color();
      color.action() != pb::COLOR_ACTION_NONE && color.action() != pb::COLOR_ACTION_UNSPECIFIED) {
    std::cout << "colour: " << Word(color.action()) << " (" << color.source()
              << (color.profile_description().empty() ? "" : ", \"" + color.profile_description() + "\"")
              << (color.reason().empty() ? "" : "; " + color.reason()) << ")\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "imgproc-cli [flags] info|process\n\n"
      "  imgproc-cli --target=127.0.0.1:50051 info\n"
      "  imgproc-cli --target=127.0.0.1:50051 process --in=photo.jpg --out=thumb.jpg \\\n"
      "      --ops=\"resize width=640 keep_aspect=true | gaussian_blur kernel_width=5 sigma_x=1.5\" --format=jpeg "
      "--quality=90 --timeout=10s");
  imgproc::cli::ListClientFlagsInHelp();
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "";
  imgproc::ClientOptions options;
  options.deadline = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout));
  if (absl::Status s = imgproc::cli::ApplyChannelFlags(options); !s.ok()) return Fail(std::string(s.message()));
  const imgproc::ImgprocClient client(absl::GetFlag(FLAGS_target), options);
  if (command == "info") return Info(client);
  if (command == "process") return Process(client);
  return Fail("usage: imgproc-cli [--target=host:port] info | process --in=FILE --out=FILE --ops=\"...\"");
}
