// A JPEG thumbnail of a photo, made by an imgproc server through the C++ client library.
//
//   imgproc_thumbnail 127.0.0.1:50051 photo.jpg thumb.jpg [width, default 320]
#include <imgproc/client.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace pb = imgproc::v1;

namespace {

// A failed call's status: the gRPC code and the server's message.
int Fail(const std::string& call, const absl::Status& status) {
  std::cerr << "imgproc_thumbnail: " << call << " failed: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: imgproc_thumbnail HOST:PORT PHOTO THUMBNAIL.jpg [WIDTH]\n";
    return 2;
  }
  const std::string target = argv[1], photo_path = argv[2], thumbnail_path = argv[3];
  const int width = argc > 4 ? std::atoi(argv[4]) : 320;

  imgproc::ClientOptions options;
  options.deadline = std::chrono::seconds(20);  // each call's, retries included
  const imgproc::ImgprocClient client(target, options);

  const absl::StatusOr<pb::GetServerInfoResponse> info = client.GetServerInfo();
  if (!info.ok()) return Fail("GetServerInfo", info.status());
  std::cout << "server: imgproc " << info->version() << ", " << imgproc::v1::Backend_Name(info->backend()) << "\n";

  std::ifstream photo(photo_path, std::ios::binary);
  if (!photo) {
    std::cerr << "imgproc_thumbnail: cannot read " << photo_path << "\n";
    return 1;
  }
  std::ostringstream bytes;
  bytes << photo.rdbuf();

  pb::ProcessRequest request;
  request.set_image(bytes.str());
  pb::Resize* resize = request.add_operations()->mutable_resize();
  resize->set_width(width);
  resize->set_keep_aspect(true);
  request.mutable_output()->mutable_jpeg()->set_quality(85);
  const absl::StatusOr<pb::ProcessResponse> thumbnail = client.Process(request);
  if (!thumbnail.ok()) return Fail("Process", thumbnail.status());

  std::ofstream out(thumbnail_path, std::ios::binary);
  out << thumbnail->image();
  if (!out.flush()) {
    std::cerr << "imgproc_thumbnail: cannot write " << thumbnail_path << "\n";
    return 1;
  }
  std::cout << "wrote " << thumbnail_path << ": " << imgproc::v1::ImageFormat_Name(thumbnail->format()) << " "
            << thumbnail->width() << "x" << thumbnail->height() << ", " << thumbnail->image().size() << " bytes, "
            << thumbnail->timings().total_us() << " us on " << thumbnail->device() << "\n";
  return 0;
}
