#pragma once
// Photos with colour profiles for the colour tests (issue 29): real profiles (Debian's colord-data and
// icc-profiles-free) and profiles built here with lcms2 (Display P3, a LUT-based RGB one, a CMYK one), the photo
// rendered into each by lcms2 and written as JPEG, PNG, WebP or TIFF with the profile embedded, and lcms2's own
// conversion back to sRGB as the reference the server is held to.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace imgproc::testing {

enum class ProfileSpace { kRgb, kGray, kCmyk };

struct TestProfile {
  std::string name;
  std::string bytes;
  ProfileSpace space = ProfileSpace::kRgb;
};

// Adobe RGB (1998), ProPhoto RGB, Rec. 709 and Wide Gamut RGB (colord-data); Display P3 (P3 primaries, D65,
// sRGB's curve) and a LUT-based profile (A2B0/B2A0 tables of 33^3 sampled from Adobe RGB: no matrix/TRC tags), both
// built with lcms2.
std::vector<TestProfile> RgbTestProfiles();
TestProfile GrayTestProfile();   // icc-profiles-free's Gray.icc
TestProfile CmykTestProfile();   // a LUT-based CMYK printer profile built with lcms2 (ink = 1 - RGB, gray to K)
std::string SrgbProfileBytes();  // lcms2's sRGB, saved
// A profile's description tag as lcms2 reads it (English); empty if lcms2 cannot open the profile.
std::string IccDescription(const std::string& profile);

// A nature photo (by index, wrapped) downscaled with INTER_AREA to width x height, 8-bit BGR.
cv::Mat ColorTestPhoto(int index, int width = 320, int height = 200);

// `srgb_bgr` (8-bit BGR, sRGB) rendered into `profile` by lcms2 (perceptual intent): BGR for an RGB profile, one
// channel for gray (from the photo's sRGB luminance), 4 channels of CMYK ink (0: none) for CMYK.
cv::Mat RenderFromSrgb(const cv::Mat& srgb_bgr, const TestProfile& profile);
// lcms2's conversion of `pixels` (BGR, gray or CMYK ink as for RenderFromSrgb) from `profile` to sRGB, perceptual
// intent: BGR, or gray (one channel) for a gray profile.
cv::Mat LcmsToSrgb(const cv::Mat& pixels, const TestProfile& profile);

// The image with `profile` embedded: JPEG (APP2 ICC_PROFILE segments, split as libjpeg-turbo's
// jpeg_write_icc_profile splits; CMYK ink written inverted with Adobe's marker, as Photoshop does), PNG (iCCP),
// WebP (lossless, ICCP chunk through libwebpmux), TIFF (tag 34675). PNG also takes CV_16U pixels (a 16-bit PNG).
std::string JpegWithProfile(const cv::Mat& pixels, const std::string& profile, int quality = 95);
std::string PngWithProfile(const cv::Mat& pixels, const std::string& profile);
std::string WebpWithProfile(const cv::Mat& pixels, const std::string& profile);
std::string TiffWithProfile(const cv::Mat& pixels, const std::string& profile);

// A JPEG's APP2 ICC_PROFILE segments replaced by `segments` (each the bytes after the marker's length), inserted
// after the start-of-image marker: for segments missing, repeated or too many.
std::string JpegWithIccSegments(const std::string& jpeg, const std::vector<std::string>& segments);
// One APP2 segment's payload: "ICC_PROFILE\0", sequence number, count, piece.
std::string IccSegment(int sequence, int count, const std::string& piece);

}  // namespace imgproc::testing
