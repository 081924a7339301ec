#include "codec/animation_decode.h"

#include <gif_lib.h>
#include <webp/demux.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace imgproc {

namespace {

struct MemoryReader {
  absl::string_view data;
  size_t position = 0;
};

int ReadFromMemory(GifFileType* gif, GifByteType* out, int wanted) {
  auto* reader = static_cast<MemoryReader*>(gif->UserData);
  const size_t n = std::min(static_cast<size_t>(std::max(wanted, 0)), reader->data.size() - reader->position);
  std::memcpy(out, reader->data.data() + reader->position, n);
  reader->position += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

absl::Status GifError(absl::string_view during, int code) {
  const char* reason = GifErrorString(code);
  return absl::InvalidArgumentError(absl::StrCat("could not decode gif data (corrupt or truncated): ", during, ": ",
                                                 reason != nullptr ? reason : "unknown giflib error"));
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeGifFirstFrame(absl::string_view bytes) {
  MemoryReader reader{bytes};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, ReadFromMemory, &error));
  if (gif == nullptr) return GifError("opening", error);
  int transparent_index = NO_TRANSPARENT_COLOR;
  for (;;) {
    GifRecordType record;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) return GifError("reading a block", gif->Error);
    if (record == TERMINATE_RECORD_TYPE) {
      return absl::InvalidArgumentError(
          "could not decode gif data (corrupt or truncated): no image before the trailer");
    }
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) return GifError("reading an extension", gif->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4) {
        GraphicsControlBlock control;
        if (DGifExtensionToGCB(block[0], block + 1, &control) == GIF_OK) transparent_index = control.TransparentColor;
      }
      while (block != nullptr) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) return GifError("reading an extension", gif->Error);
      }
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return GifError("reading the image descriptor", gif->Error);
    break;
  }

  const GifImageDesc& frame = gif->Image;
  const ColorMapObject* colours = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
  if (colours == nullptr)
    return absl::InvalidArgumentError("unsupported gif image: the first frame has no colour table");
  // Indices past the table's end (corrupt data) read as opaque black rather than past the array.
  std::array<cv::Vec4b, 256> bgra;
  bgra.fill(cv::Vec4b(0, 0, 0, 255));
  for (int c = 0; c < std::min(colours->ColorCount, 256); ++c) {
    const GifColorType& rgb = colours->Colors[c];
    bgra[c] = cv::Vec4b(rgb.Blue, rgb.Green, rgb.Red, 255);
  }
  if (transparent_index >= 0 && transparent_index < 256) bgra[transparent_index][3] = 0;

  // The header reader refused frames reaching beyond the screen; this guards the writes all the same.
  if (frame.Left < 0 || frame.Top < 0 || frame.Width < 0 || frame.Height < 0 ||
      frame.Left + frame.Width > gif->SWidth || frame.Top + frame.Height > gif->SHeight) {
    return absl::InvalidArgumentError("unsupported gif image: the first frame extends beyond the logical screen");
  }
  cv::Mat canvas(gif->SHeight, gif->SWidth, CV_8UC4, cv::Scalar::all(0));
  std::vector<GifPixelType> line(static_cast<size_t>(frame.Width));
  auto read_row = [&](int row) -> absl::Status {
    if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) return GifError("reading pixels", gif->Error);
    auto* out = canvas.ptr<cv::Vec4b>(frame.Top + row) + frame.Left;
    for (int x = 0; x < frame.Width; ++x) out[x] = bgra[line[x]];
    return absl::OkStatus();
  };
  if (frame.Width > 0) {
    if (frame.Interlace) {
      // GIF's four interlace passes: every 8th row from 0, every 8th from 4, every 4th from 2, every 2nd from 1.
      static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
      for (int pass = 0; pass < 4; ++pass) {
        for (int row = kStart[pass]; row < frame.Height; row += kStep[pass]) {
          if (absl::Status s = read_row(row); !s.ok()) return s;
        }
      }
    } else {
      for (int row = 0; row < frame.Height; ++row) {
        if (absl::Status s = read_row(row); !s.ok()) return s;
      }
    }
  }
  return canvas;
}

absl::StatusOr<cv::Mat> DecodeAnimatedWebpFirstFrame(absl::string_view bytes) {
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) return absl::InternalError("libwebp: WebPAnimDecoderOptionsInit failed");
  options.color_mode = MODE_BGRA;
  options.use_threads = 0;  // the lane is the unit of parallelism
  const WebPData data{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> decoder(WebPAnimDecoderNew(&data, &options),
                                                                       WebPAnimDecoderDelete);
  if (decoder == nullptr) {
    return absl::InvalidArgumentError(
        "could not decode animated webp data (corrupt or truncated): libwebp's demuxer refused it");
  }
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info)) {
    return absl::InvalidArgumentError("could not decode animated webp data (corrupt or truncated): no animation info");
  }
  uint8_t* pixels = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &pixels, &timestamp)) {
    return absl::InvalidArgumentError("could not decode animated webp data (corrupt or truncated): first frame");
  }
  // The decoder owns the canvas and reuses it for the next frame: copied out before it is deleted.
  return cv::Mat(static_cast<int>(info.canvas_height), static_cast<int>(info.canvas_width), CV_8UC4, pixels).clone();
}

}  // namespace imgproc
