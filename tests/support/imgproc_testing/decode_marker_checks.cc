#include "imgproc_testing/decode_marker_checks.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/animation_images.h"
#include "imgproc_testing/test_support.h"
#include "imgproc_testing/tiff_images.h"

namespace imgproc::testing {
namespace {

void PutLe16(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void PutLe32(std::string& out, uint32_t v) {
  PutLe16(out, v & 0xFFFF);
  PutLe16(out, v >> 16);
}

cv::Mat Photo() {
  const cv::Mat full = cv::imread(PhotoPath("nature/Dune.jpg"), cv::IMREAD_COLOR);
  cv::Mat photo;
  cv::resize(full, photo, cv::Size(61, 37), 0, 0, cv::INTER_AREA);
  return photo;
}

}  // namespace

std::string EncodeOs2Bmp(const cv::Mat& image, const std::vector<cv::Vec3b>& palette_bgr, int bits) {
  const uint32_t width = image.cols, height = image.rows;
  const uint32_t stride = (width * bits + 31) / 32 * 4;
  const uint32_t palette_bytes = bits <= 8 ? 3u << bits : 0;
  const uint32_t offset = 14 + 12 + palette_bytes;
  std::string out = "BM";
  PutLe32(out, offset + stride * height);
  PutLe32(out, 0);
  PutLe32(out, offset);
  PutLe32(out, 12);  // BITMAPCOREHEADER
  PutLe16(out, width);
  PutLe16(out, height);
  PutLe16(out, 1);
  PutLe16(out, bits);
  for (uint32_t i = 0; bits <= 8 && i < (1u << bits); ++i) {
    const cv::Vec3b c = i < palette_bgr.size() ? palette_bgr[i] : cv::Vec3b(0, 0, 0);
    out.append(reinterpret_cast<const char*>(c.val), 3);
  }
  for (uint32_t r = 0; r < height; ++r) {
    const int y = static_cast<int>(height - 1 - r);  // bottom-up
    std::string row(stride, '\0');
    for (uint32_t x = 0; x < width; ++x) {
      if (bits == 24) {
        const cv::Vec3b c = image.at<cv::Vec3b>(y, static_cast<int>(x));
        row[3 * x] = static_cast<char>(c[0]), row[3 * x + 1] = static_cast<char>(c[1]);
        row[3 * x + 2] = static_cast<char>(c[2]);
      } else {
        const uint32_t index = image.at<uchar>(y, static_cast<int>(x));
        const uint32_t bit = x * bits;
        row[bit / 8] = static_cast<char>(row[bit / 8] | (index << (8 - bits - bit % 8)));
      }
    }
    out += row;
  }
  return out;
}

std::vector<DecodeCase> MarkerCorpus() {
  std::vector<DecodeCase> cases;
  for (const TiffFile& f : TiffFiles()) cases.push_back({"tiff " + f.name, f.bytes, f.unchanged});
  const cv::Mat photo = Photo();
  cv::Mat photo16, bgra;
  photo.convertTo(photo16, CV_16U, 257);
  cases.push_back({"png 16-bit rgb", EncodeAs(photo16, ".png"), photo});
  cv::cvtColor(photo, bgra, cv::COLOR_BGR2BGRA);
  for (int y = 0; y < bgra.rows; ++y) {
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = static_cast<uchar>((x * 7 + y * 13) & 255);
  }
  cases.push_back({"png rgba", EncodeAs(bgra, ".png"), bgra});
  cases.push_back({"bmp 24-bit", EncodeAs(photo, ".bmp"), photo});
  cases.push_back({"webp lossless", EncodeAs(photo, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), photo});
  // OS/2 palettes: a 3-3-2 colour cube indexed from the photo.
  std::vector<cv::Vec3b> cube;
  for (int i = 0; i < 256; ++i) {
    cube.emplace_back(static_cast<uchar>((i & 3) * 85), static_cast<uchar>(((i >> 2) & 7) * 36),
                      static_cast<uchar>(((i >> 5) & 7) * 36));
  }
  cv::Mat indices(photo.size(), CV_8UC1), via_cube(photo.size(), CV_8UC3);
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols; ++x) {
      const cv::Vec3b c = photo.at<cv::Vec3b>(y, x);
      const int index = ((c[2] >> 5) << 5) | ((c[1] >> 5) << 2) | (c[0] >> 6);
      indices.at<uchar>(y, x) = static_cast<uchar>(index);
      via_cube.at<cv::Vec3b>(y, x) = cube[index];
    }
  }
  cases.push_back({"bmp os/2 8-bit palette", EncodeOs2Bmp(indices, cube, 8), via_cube});
  cases.push_back({"bmp os/2 24-bit", EncodeOs2Bmp(photo, {}, 24), photo});
  const std::vector<cv::Vec3b> gif_palette_rgb = {{200, 10, 20}, {30, 180, 60}, {90, 40, 250}, {255, 255, 0}};
  cv::Mat gif_indices(photo.size(), CV_8UC1);
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols; ++x) gif_indices.at<uchar>(y, x) = static_cast<uchar>((x * 3 + y * 5) % 4);
  }
  const GifFrame frame{0, 0, gif_indices};
  cv::Mat gif_expected;
  cv::cvtColor(GifFirstFrameReference(photo.cols, photo.rows, gif_palette_rgb, frame), gif_expected,
               cv::COLOR_BGRA2BGR);
  cases.push_back({"gif", EncodeGif(photo.cols, photo.rows, gif_palette_rgb, {frame}), gif_expected});
  return cases;
}

MarkerReport RunMarkerCheck(const ServerProcess& server, const std::vector<DecodeCase>& cases, int rounds) {
  MarkerReport report;
  auto stub = server.NewStub();
  auto raw_request = [](const std::string& image) {
    pb::ProcessRequest request;
    request.set_image(image);
    request.set_decode_mode(pb::DECODE_MODE_UNCHANGED);
    request.mutable_output()->mutable_raw();
    return request;
  };
  for (int round = 0; round < rounds; ++round) {
    for (const DecodeCase& c : cases) {
      const std::string where = c.name + " (round " + std::to_string(round) + "): ";
      // The marker has the answer's shape, so that its freed buffers are the ones the next decode may get.
      const cv::Mat marker(c.unchanged.size(), c.unchanged.type(), cv::Scalar::all(123));
      const grpc::Status marker_status = CallProcess(*stub, raw_request(EncodeAs(marker, ".png")));
      if (!marker_status.ok()) {
        report.failures.push_back(where + "the marker request failed: " + marker_status.error_message());
        continue;
      }
      pb::ProcessResponse response;
      const grpc::Status status = CallProcess(*stub, raw_request(c.bytes), &response);
      ++report.answers;
      if (!status.ok()) {
        report.failures.push_back(where + "status " + std::to_string(status.error_code()) + ": " +
                                  status.error_message());
        continue;
      }
      const cv::Mat got =
          RawToMat(response.image(), response.width(), response.height(), response.channels(), response.dtype());
      if (got.empty() || got.size() != c.unchanged.size() || got.type() != c.unchanged.type()) {
        report.failures.push_back(where + "answered " + std::to_string(response.width()) + "x" +
                                  std::to_string(response.height()) + "x" + std::to_string(response.channels()) +
                                  ", expected " + std::to_string(c.unchanged.cols) + "x" +
                                  std::to_string(c.unchanged.rows) + "x" + std::to_string(c.unchanged.channels()));
        continue;
      }
      cv::Mat is_marker, was_due;
      cv::compare(got.reshape(1), 123, is_marker, cv::CMP_EQ);
      cv::compare(c.unchanged.reshape(1), 123, was_due, cv::CMP_NE);
      const double marker_share = static_cast<double>(cv::countNonZero(is_marker & was_due)) / is_marker.total();
      report.worst_marker_share = std::max(report.worst_marker_share, marker_share);
      const PixelDiff diff = Compare(got, c.unchanged);
      if (diff.max_abs != 0) {
        report.failures.push_back(where + diff.Describe() + "; " + std::to_string(marker_share * 100) +
                                  "% of the answer's bytes are the marker's 123 where the file has another value");
      }
    }
  }
  return report;
}

}  // namespace imgproc::testing
