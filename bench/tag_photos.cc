// W6's inputs (bench/run.sh): the photos rendered by lcms2 into a wide-gamut profile, alternately Display P3 and
// Adobe RGB (1998), written as JPEGs (quality 95) with the profile embedded, as a phone or a camera would send them.
// Converted back to sRGB by the service they look as the originals did; a profile is built here with lcms2 from its
// published primaries and curve (Display P3: sRGB's curve; Adobe RGB: gamma 563/256), so the tool needs no profile
// files. --untagged_out: the same pixels, encoded the same way, without the profile: W6's control, whose bytes differ
// from W6's only by the profile's APP2 segments, so that W6 against it measures the colour conversion alone (the
// originals are encoded otherwise: another quality and subsampling decode at another speed).
//   imgproc-tag-photos --in=DIR --out=DIR [--untagged_out=DIR]

// jpeglib.h uses size_t and FILE without including their headers: those come first.
// clang-format off
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <lcms2.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(std::string, in, "", "folder of sRGB JPEGs");
ABSL_FLAG(std::string, out, "", "folder for the tagged JPEGs (created)");
ABSL_FLAG(std::string, untagged_out, "", "folder for the same JPEGs without the profile (created); empty: none");

namespace {

cmsHPROFILE WideGamutProfile(bool display_p3) {
  const cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}};
  const cmsCIExyYTRIPLE adobe = {{0.640, 0.330, 1.0}, {0.210, 0.710, 1.0}, {0.150, 0.060, 1.0}};
  const double srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
  cmsToneCurve* curve =
      display_p3 ? cmsBuildParametricToneCurve(nullptr, 4, srgb_curve) : cmsBuildGamma(nullptr, 563.0 / 256.0);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&d65, display_p3 ? &p3 : &adobe, curves);
  cmsFreeToneCurve(curve);
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US",
                 display_p3 ? "Display P3 (imgproc bench)" : "Adobe RGB (1998) (imgproc bench)");
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
  return profile;
}

std::string SavedProfile(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::string bytes(size, '\0');
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  return bytes;
}

bool WriteJpeg(const cv::Mat& bgr, const std::string& profile, const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return false;
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = static_cast<JDIMENSION>(bgr.cols);
  info.image_height = static_cast<JDIMENSION>(bgr.rows);
  info.input_components = 3;
  info.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  if (!profile.empty()) {
    jpeg_write_icc_profile(&info, reinterpret_cast<const JOCTET*>(profile.data()),
                           static_cast<unsigned int>(profile.size()));
  }
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(bgr.ptr(static_cast<int>(info.next_scanline)));
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  return std::fclose(file) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::filesystem::path in = absl::GetFlag(FLAGS_in), out = absl::GetFlag(FLAGS_out),
                              untagged_out = absl::GetFlag(FLAGS_untagged_out);
  if (in.empty() || out.empty()) {
    std::cerr << "usage: imgproc-tag-photos --in=DIR --out=DIR" << std::endl;
    return 2;
  }
  std::filesystem::create_directories(out);
  if (!untagged_out.empty()) std::filesystem::create_directories(untagged_out);
  std::vector<std::filesystem::path> photos;
  for (const auto& entry : std::filesystem::directory_iterator(in)) {
    if (entry.path().extension() == ".jpg") photos.push_back(entry.path());
  }
  std::sort(photos.begin(), photos.end());
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHPROFILE targets[2] = {WideGamutProfile(true), WideGamutProfile(false)};
  const std::string saved[2] = {SavedProfile(targets[0]), SavedProfile(targets[1])};
  cmsHTRANSFORM transforms[2];
  for (int t = 0; t < 2; ++t) {
    transforms[t] = cmsCreateTransform(srgb, TYPE_BGR_8, targets[t], TYPE_BGR_8, INTENT_PERCEPTUAL, 0);
  }
  int written = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    cv::Mat bgr = cv::imread(photos[i].string(), cv::IMREAD_COLOR);
    if (bgr.empty()) continue;
    const int t = static_cast<int>(i % 2);  // Display P3, Adobe RGB, Display P3, ...
    cv::Mat rendered(bgr.size(), CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y) cmsDoTransform(transforms[t], bgr.ptr(y), rendered.ptr(y), bgr.cols);
    if (!WriteJpeg(rendered, saved[t], (out / photos[i].filename()).string()) ||
        (!untagged_out.empty() && !WriteJpeg(rendered, "", (untagged_out / photos[i].filename()).string()))) {
      std::cerr << "imgproc-tag-photos: cannot write " << photos[i].filename() << std::endl;
      return 1;
    }
    ++written;
  }
  for (int t = 0; t < 2; ++t) {
    cmsDeleteTransform(transforms[t]);
    cmsCloseProfile(targets[t]);
  }
  cmsCloseProfile(srgb);
  std::cout << "imgproc-tag-photos: " << written << " photos in Display P3 / Adobe RGB under " << out.string()
            << std::endl;
  return written > 0 ? 0 : 1;
}
