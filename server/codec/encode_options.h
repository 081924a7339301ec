#pragma once
// The options an encoded answer takes, apart from the format's one number (quality or level) in OutputSpec.

namespace imgproc {

// How much chroma a YCbCr encoder keeps: kDefault is the format's own (4:2:0 for JPEG and AVIF).
enum class ChromaSubsampling { kDefault, k420, k422, k444 };

inline const char* ChromaSubsamplingName(ChromaSubsampling s) {
  switch (s) {
    case ChromaSubsampling::k420: return "4:2:0";
    case ChromaSubsampling::k422: return "4:2:2";
    case ChromaSubsampling::k444: return "4:4:4";
    case ChromaSubsampling::kDefault: break;
  }
  return "default";
}

struct JpegEncodeOptions {
  int quality = 95;
  bool progressive = false;  // libjpeg's standard progression (SOF2); libjpeg then always optimizes the tables
  ChromaSubsampling chroma = ChromaSubsampling::kDefault;
  bool optimize = false;  // Huffman tables computed for the image
  // The defaults are OpenCV's imencode settings (baseline, 4:2:0, standard tables): the bytes of today's answers.
  bool IsDefault() const {
    return !progressive && !optimize && (chroma == ChromaSubsampling::kDefault || chroma == ChromaSubsampling::k420);
  }
};

struct AvifEncodeOptions {
  int quality = 60;  // [1, 100], mapped to AV1's quantizer as libavif 1.x maps its own quality
  // [0, 10]: libaom's cpu-used through libavif. 8 for thumbnails: a 320x200 thumbnail at speed 6 took 60 ms of one
  // core, at 8 20 ms, 1% larger (avifenc 0.11.1 on this host); at 9 the file grows by 8%.
  int speed = 8;
  ChromaSubsampling chroma = ChromaSubsampling::kDefault;
};

struct HeicEncodeOptions {
  int quality = 50;  // [1, 100], libheif's quality for x265 (its own default)
  // [0, 9]: x265's presets, placebo (0) to ultrafast (9). 8 (superfast) for thumbnails: on a 320x200 one it took
  // 0.50 us per pixel of one core for 6.7 KB at 35.7 dB; veryfast (7) as long for 5.8 KB at 35.3 dB; slow (3)
  // 0.86 us; ultrafast (9) 0.16 us for 7.8 KB at 35.6 dB (bench/heic_encode_cost.cc, Garden.jpg).
  int speed = 8;
  ChromaSubsampling chroma = ChromaSubsampling::kDefault;  // 4:2:0 as phones write, or 4:2:2 / 4:4:4
};

}  // namespace imgproc
