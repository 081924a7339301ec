#pragma once
// GIFs and animated WebPs with known pixels, written with the encoders of the same libraries the server reads
// them with (giflib's EGif API, libwebp's WebPAnimEncoder), so tests can compare decoded frames exactly.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace imgproc::testing {

struct GifFrame {
  int left = 0, top = 0;
  cv::Mat indices;             // CV_8UC1: palette indices, the frame's size
  int transparent_index = -1;  // -1: no graphics control transparency
  bool interlaced = false;
};

// A GIF89a with one global palette (RGB triples, up to 256) and the frames in order.
std::string EncodeGif(int screen_width, int screen_height, const std::vector<cv::Vec3b>& palette_rgb,
                      const std::vector<GifFrame>& frames);

// What the server decodes of a GIF's first frame with DECODE_MODE_UNCHANGED when it has transparency: BGRA,
// the palette's colour with alpha 0 at the transparent index, transparent black off the frame.
cv::Mat GifFirstFrameReference(int screen_width, int screen_height, const std::vector<cv::Vec3b>& palette_rgb,
                               const GifFrame& first);

// A lossless animated WebP of the given BGRA frames (all the canvas size), 100 ms apart.
std::string EncodeAnimatedWebp(const std::vector<cv::Mat>& bgra_frames);

}  // namespace imgproc::testing
