#include "ops/gaussian_fixed_point.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <opencv2/imgproc.hpp>

namespace imgproc {
namespace {

constexpr int kOne = 256;  // 1.0 in the kernel's units

// The row pass of one source row (already chosen by the vertical border rule; nullptr: a row of zeros beyond a
// constant border): the kernel's sum at every value, in units of 1/256. `extended` is scratch for the row with
// `radius` pixels of border on each side.
void RowPass(const uint8_t* row, int cols, int channels, int border, const std::vector<uint16_t>& kernel,
             std::vector<uint8_t>& extended, uint16_t* out) {
  const int radius = static_cast<int>(kernel.size()) / 2;
  const int length = cols * channels;
  if (row == nullptr) {
    std::fill(out, out + length, 0);
    return;
  }
  uint8_t* ext = extended.data();
  std::copy(row, row + length, ext + radius * channels);
  for (int x = -radius; x < 0; ++x) {
    const int from = cv::borderInterpolate(x, cols, border);
    for (int c = 0; c < channels; ++c) ext[(x + radius) * channels + c] = from < 0 ? 0 : row[from * channels + c];
  }
  for (int x = cols; x < cols + radius; ++x) {
    const int from = cv::borderInterpolate(x, cols, border);
    for (int c = 0; c < channels; ++c) ext[(x + radius) * channels + c] = from < 0 ? 0 : row[from * channels + c];
  }
  // A symmetric kernel: the taps at distance d on either side share a multiplication. Every partial sum is at most
  // the whole, 255 * 256, so uint16 holds it.
  const uint16_t centre = kernel[radius];
  const uint8_t* mid = ext + radius * channels;
  for (int i = 0; i < length; ++i) out[i] = static_cast<uint16_t>(mid[i] * centre);
  for (int d = 1; d <= radius; ++d) {
    const uint16_t k = kernel[radius - d];
    if (k == 0) continue;
    const uint8_t* left = mid - d * channels;
    const uint8_t* right = mid + d * channels;
    for (int i = 0; i < length; ++i) out[i] = static_cast<uint16_t>(out[i] + (left[i] + right[i]) * k);
  }
}

}  // namespace

std::vector<uint16_t> FixedPointGaussianKernel(int size, double sigma) {
  // One impulse of 255 blurred with the kernel as a row and a one-tap column (exactly 1): the value at distance d
  // from the impulse is round(255 * k / 256), which is k itself for taps up to 128 and k - 1 above. The taps sum
  // to 256, so at most one is above 128, and the sum's shortfall says whether one is.
  const int radius = size / 2;
  const int length = 2 * size + 1;
  cv::Mat impulse = cv::Mat::zeros(1, length, CV_8UC1);
  impulse.at<uint8_t>(0, size) = 255;
  cv::Mat blurred;
  cv::GaussianBlur(impulse, blurred, cv::Size(size, 1), sigma, sigma, cv::BORDER_CONSTANT);
  std::vector<uint16_t> kernel(size);
  for (int i = 0; i < size; ++i) kernel[i] = blurred.at<uint8_t>(0, size + radius - i);
  const int sum = std::accumulate(kernel.begin(), kernel.end(), 0);
  if (sum == kOne - 1) {
    auto largest = std::max_element(kernel.begin(), kernel.end());
    if (*largest >= 128) ++*largest;
  }
  if (std::accumulate(kernel.begin(), kernel.end(), 0) != kOne) return {};
  return kernel;
}

absl::Status GaussianBlurFixedPointInRows(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst,
                                          const GaussianBlurParams& params) {
  if (src.data == dst.data) {  // rows are read after the output rows above them are written
    const cv::Mat copy = src.clone();
    return GaussianBlurFixedPointInRows(ctx, copy, dst, params);
  }
  const std::vector<uint16_t> kx = FixedPointGaussianKernel(params.ksize.width, params.sigma_x);
  const std::vector<uint16_t> ky = FixedPointGaussianKernel(params.ksize.height, params.sigma_y);
  if (kx.empty() || ky.empty()) {
    return absl::InternalError("gaussian_blur: OpenCV's fixed-point kernel could not be read back");
  }
  const int rows = src.rows, cols = src.cols, channels = src.channels();
  const int length = cols * channels;
  const int radius_x = params.ksize.width / 2, radius_y = params.ksize.height / 2;
  const int taps_y = params.ksize.height;
  dst.create(src.size(), src.type());

  std::vector<uint8_t> extended(static_cast<size_t>(cols + 2 * radius_x) * channels);
  // The row passes of source rows y - radius_y .. y + radius_y for output row y, in a ring: virtual row v (which
  // may lie beyond the image, where the border rule picks its source row) at slot (v + radius_y) % taps_y.
  std::vector<uint16_t> ring(static_cast<size_t>(taps_y) * length);
  const auto slot = [&](int v) { return ring.data() + static_cast<size_t>((v + radius_y) % taps_y) * length; };
  const auto fill = [&](int v) {
    const int from = cv::borderInterpolate(v, rows, params.border);
    RowPass(from < 0 ? nullptr : src.ptr<uint8_t>(from), cols, channels, params.border, kx, extended, slot(v));
  };
  std::vector<uint32_t> sums(length);

  // Rows between two stop checks: first what ctx.stripe_work holds, then ctx.stripe_seconds at the pace so far.
  const double row_work = static_cast<double>(length) * (params.ksize.width + params.ksize.height);
  double rows_per_check = std::max(1.0, ctx.stripe_work / row_work);
  auto checked = std::chrono::steady_clock::now();
  int next_check = 0;

  for (int v = -radius_y; v < radius_y; ++v) fill(v);
  for (int y = 0; y < rows; ++y) {
    if (y == next_check) {
      if (ctx.stop) {
        if (absl::Status stop = ctx.stop(); !stop.ok()) return stop;
      }
      const auto now = std::chrono::steady_clock::now();
      if (ctx.stripe_seconds > 0 && y > 0) {
        const double seconds = std::max(1e-6, std::chrono::duration<double>(now - checked).count());
        rows_per_check = std::max(1.0, rows_per_check * std::clamp(ctx.stripe_seconds / seconds, 0.25, 4.0));
      }
      checked = now;
      next_check = y + static_cast<int>(rows_per_check);
    }
    fill(y + radius_y);
    // The column pass, in units of 1/65536: at most 255 * 256 * 256, well within uint32.
    const uint16_t* centre = slot(y);
    const uint32_t k0 = ky[radius_y];
    for (int i = 0; i < length; ++i) sums[i] = centre[i] * k0;
    for (int d = 1; d <= radius_y; ++d) {
      const uint32_t k = ky[radius_y - d];
      if (k == 0) continue;
      const uint16_t* above = slot(y - d);
      const uint16_t* below = slot(y + d);
      for (int i = 0; i < length; ++i) sums[i] += (static_cast<uint32_t>(above[i]) + below[i]) * k;
    }
    uint8_t* out = dst.ptr<uint8_t>(y);
    for (int i = 0; i < length; ++i) out[i] = static_cast<uint8_t>((sums[i] + (1u << 15)) >> 16);
  }
  return absl::OkStatus();
}

}  // namespace imgproc
