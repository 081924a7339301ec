#include "imgproc_testing/color_images.h"

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>
#include <tiffio.h>
#include <unistd.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

constexpr char kColord[] = "/usr/share/color/icc/colord/";
constexpr char kFreeProfiles[] = "/usr/share/color/icc/";

std::string Saved(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  if (!cmsSaveProfileToMem(profile, nullptr, &size)) throw std::runtime_error("cmsSaveProfileToMem failed");
  std::string bytes(size, '\0');
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  return bytes;
}

void Describe(cmsHPROFILE profile, const char* text) {
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(description, "en", "US", text);
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
}

cmsHPROFILE Open(const std::string& bytes) {
  cmsHPROFILE profile = cmsOpenProfileFromMem(bytes.data(), static_cast<cmsUInt32Number>(bytes.size()));
  if (profile == nullptr) throw std::runtime_error("lcms2 cannot open a test profile");
  return profile;
}

// CLUT samplers: `cargo` is the transform that gives each grid point's value.
cmsInt32Number SampleThrough(const cmsUInt16Number in[], cmsUInt16Number out[], void* cargo) {
  cmsDoTransform(static_cast<cmsHTRANSFORM>(cargo), in, out, 1);
  return 1;
}

// A2B0 = identity curves, `a2b_table`, identity curves; B2A0 the same around a 33^3 table sampled by `sampler`
// (the ICC v4 lutAtoB/lutBtoA layouts that lcms2 writes need the curves on both sides of a CLUT).
void WriteLutTags(cmsHPROFILE profile, cmsStage* a2b_table, int device_channels, cmsSAMPLER16 sampler, void* cargo) {
  cmsPipeline* a2b = cmsPipelineAlloc(nullptr, device_channels, 3);
  cmsPipelineInsertStage(a2b, cmsAT_END, cmsStageAllocToneCurves(nullptr, device_channels, nullptr));
  cmsPipelineInsertStage(a2b, cmsAT_END, a2b_table);
  cmsPipelineInsertStage(a2b, cmsAT_END, cmsStageAllocToneCurves(nullptr, 3, nullptr));
  cmsWriteTag(profile, cmsSigAToB0Tag, a2b);
  cmsPipeline* b2a = cmsPipelineAlloc(nullptr, 3, device_channels);
  cmsStage* b2a_table = cmsStageAllocCLut16bit(nullptr, 33, 3, device_channels, nullptr);
  cmsStageSampleCLut16bit(b2a_table, sampler, cargo, 0);
  cmsPipelineInsertStage(b2a, cmsAT_END, cmsStageAllocToneCurves(nullptr, 3, nullptr));
  cmsPipelineInsertStage(b2a, cmsAT_END, b2a_table);
  cmsPipelineInsertStage(b2a, cmsAT_END, cmsStageAllocToneCurves(nullptr, device_channels, nullptr));
  cmsWriteTag(profile, cmsSigBToA0Tag, b2a);
  cmsPipelineFree(a2b);
  cmsPipelineFree(b2a);
}

// A profile whose A2B0 and B2A0 are CLUTs (PCS Lab): `to_pcs` maps device values (16-bit) to Lab (v4 encoding),
// `from_pcs` the other way.
std::string LutProfile(cmsColorSpaceSignature space, cmsProfileClassSignature device_class, int device_channels,
                       int grid_to_pcs, cmsHTRANSFORM to_pcs, cmsHTRANSFORM from_pcs, const char* description) {
  cmsHPROFILE profile = cmsCreateProfilePlaceholder(nullptr);
  cmsSetProfileVersion(profile, 4.3);
  cmsSetDeviceClass(profile, device_class);
  cmsSetColorSpace(profile, space);
  cmsSetPCS(profile, cmsSigLabData);
  cmsSetHeaderRenderingIntent(profile, INTENT_PERCEPTUAL);
  Describe(profile, description);
  cmsWriteTag(profile, cmsSigMediaWhitePointTag, cmsD50_XYZ());
  cmsStage* a2b_table = cmsStageAllocCLut16bit(nullptr, grid_to_pcs, device_channels, 3, nullptr);
  cmsStageSampleCLut16bit(a2b_table, SampleThrough, to_pcs, 0);
  WriteLutTags(profile, a2b_table, device_channels, SampleThrough, from_pcs);
  std::string bytes = Saved(profile);
  cmsCloseProfile(profile);
  return bytes;
}

std::string LutRgbProfileBytes() {
  cmsHPROFILE adobe = Open(ReadFile(std::string(kColord) + "AdobeRGB1998.icc"));
  cmsHPROFILE lab = cmsCreateLab4Profile(nullptr);
  cmsHTRANSFORM to_lab = cmsCreateTransform(adobe, TYPE_RGB_16, lab, TYPE_Lab_16, INTENT_RELATIVE_COLORIMETRIC, 0);
  cmsHTRANSFORM from_lab = cmsCreateTransform(lab, TYPE_Lab_16, adobe, TYPE_RGB_16, INTENT_RELATIVE_COLORIMETRIC, 0);
  std::string bytes =
      LutProfile(cmsSigRgbData, cmsSigDisplayClass, 3, 33, to_lab, from_lab, "LUT-based RGB (Adobe RGB sampled, 33^3)");
  cmsDeleteTransform(to_lab);
  cmsDeleteTransform(from_lab);
  cmsCloseProfile(lab);
  cmsCloseProfile(adobe);
  return bytes;
}

// Ink of a simple press: C, M, Y = 1 - R, G, B of sRGB with the gray part moved to K; its inverse for A2B0.
cmsInt32Number InkToLab(const cmsUInt16Number in[], cmsUInt16Number out[], void* cargo) {
  const double k = in[3] / 65535.0;
  cmsUInt16Number rgb[3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = static_cast<cmsUInt16Number>((1.0 - in[c] / 65535.0) * (1.0 - k) * 65535.0 + 0.5);
  cmsDoTransform(static_cast<cmsHTRANSFORM>(cargo), rgb, out, 1);
  return 1;
}

cmsInt32Number LabToInk(const cmsUInt16Number in[], cmsUInt16Number out[], void* cargo) {
  cmsUInt16Number rgb[3];
  cmsDoTransform(static_cast<cmsHTRANSFORM>(cargo), in, rgb, 1);
  double cmy[3];
  for (int c = 0; c < 3; ++c) cmy[c] = 1.0 - rgb[c] / 65535.0;
  const double k = std::min({cmy[0], cmy[1], cmy[2]});
  for (int c = 0; c < 3; ++c) {
    out[c] = static_cast<cmsUInt16Number>(k >= 1.0 ? 0 : (cmy[c] - k) / (1.0 - k) * 65535.0 + 0.5);
  }
  out[3] = static_cast<cmsUInt16Number>(k * 65535.0 + 0.5);
  return 1;
}

std::string CmykProfileBytes() {
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHPROFILE lab = cmsCreateLab4Profile(nullptr);
  cmsHTRANSFORM to_lab = cmsCreateTransform(srgb, TYPE_RGB_16, lab, TYPE_Lab_16, INTENT_RELATIVE_COLORIMETRIC, 0);
  cmsHTRANSFORM from_lab = cmsCreateTransform(lab, TYPE_Lab_16, srgb, TYPE_RGB_16, INTENT_RELATIVE_COLORIMETRIC, 0);
  cmsHPROFILE profile = cmsCreateProfilePlaceholder(nullptr);
  cmsSetProfileVersion(profile, 4.3);
  cmsSetDeviceClass(profile, cmsSigOutputClass);
  cmsSetColorSpace(profile, cmsSigCmykData);
  cmsSetPCS(profile, cmsSigLabData);
  Describe(profile, "LUT-based CMYK (test press, UCR)");
  cmsWriteTag(profile, cmsSigMediaWhitePointTag, cmsD50_XYZ());
  cmsStage* a2b_table = cmsStageAllocCLut16bit(nullptr, 11, 4, 3, nullptr);
  cmsStageSampleCLut16bit(a2b_table, InkToLab, to_lab, 0);
  WriteLutTags(profile, a2b_table, 4, LabToInk, from_lab);
  std::string bytes = Saved(profile);
  cmsCloseProfile(profile);
  cmsDeleteTransform(to_lab);
  cmsDeleteTransform(from_lab);
  cmsCloseProfile(lab);
  cmsCloseProfile(srgb);
  return bytes;
}

std::string DisplayP3Bytes() {
  const cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE p3 = {{0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}};
  const cmsFloat64Number srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, srgb_curve);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&d65, &p3, curves);
  Describe(profile, "Display P3 (test)");
  std::string bytes = Saved(profile);
  cmsFreeToneCurve(curve);
  cmsCloseProfile(profile);
  return bytes;
}

cmsUInt32Number FormatOf(ProfileSpace space) {
  switch (space) {
    case ProfileSpace::kGray: return TYPE_GRAY_8;
    case ProfileSpace::kCmyk: return TYPE_CMYK_8;
    case ProfileSpace::kRgb: break;
  }
  return TYPE_BGR_8;
}

cv::Mat Transform(const cv::Mat& in, cmsHPROFILE from, cmsUInt32Number in_format, cmsHPROFILE to,
                  cmsUInt32Number out_format, int out_type) {
  cmsHTRANSFORM transform = cmsCreateTransform(from, in_format, to, out_format, INTENT_PERCEPTUAL, 0);
  if (transform == nullptr) throw std::runtime_error("lcms2 cannot build a test transform");
  cv::Mat out(in.rows, in.cols, out_type);
  for (int y = 0; y < in.rows; ++y)
    cmsDoTransform(transform, in.ptr(y), out.ptr(y), static_cast<cmsUInt32Number>(in.cols));
  cmsDeleteTransform(transform);
  return out;
}

}  // namespace

std::vector<TestProfile> RgbTestProfiles() {
  std::vector<TestProfile> profiles;
  for (const char* name : {"AdobeRGB1998", "ProPhotoRGB", "Rec709", "WideGamutRGB"}) {
    profiles.push_back({name, ReadFile(std::string(kColord) + name + ".icc"), ProfileSpace::kRgb});
  }
  profiles.push_back({"DisplayP3", DisplayP3Bytes(), ProfileSpace::kRgb});
  profiles.push_back({"LutRgb", LutRgbProfileBytes(), ProfileSpace::kRgb});
  return profiles;
}

TestProfile GrayTestProfile() {
  return {"Gray", ReadFile(std::string(kFreeProfiles) + "Gray.icc"), ProfileSpace::kGray};
}

TestProfile CmykTestProfile() { return {"CmykLut", CmykProfileBytes(), ProfileSpace::kCmyk}; }

std::string IccDescription(const std::string& profile) {
  cmsHPROFILE handle = cmsOpenProfileFromMem(profile.data(), static_cast<cmsUInt32Number>(profile.size()));
  if (handle == nullptr) return "";
  char text[256] = {};
  cmsGetProfileInfoASCII(handle, cmsInfoDescription, "en", "US", text, sizeof(text));
  cmsCloseProfile(handle);
  return text;
}

std::string SrgbProfileBytes() {
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  std::string bytes = Saved(srgb);
  cmsCloseProfile(srgb);
  return bytes;
}

cv::Mat ColorTestPhoto(int index, int width, int height) {
  const std::vector<std::string> photos = NaturePhotos();
  cv::Mat photo = cv::imread(photos[static_cast<size_t>(index) % photos.size()], cv::IMREAD_COLOR);
  cv::Mat small;
  cv::resize(photo, small, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  return small;
}

cv::Mat RenderFromSrgb(const cv::Mat& srgb_bgr, const TestProfile& profile) {
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHPROFILE target = Open(profile.bytes);
  cv::Mat out;
  if (profile.space == ProfileSpace::kGray) {
    // The photo's sRGB luminance as a gray in sRGB's curve, then into the gray profile.
    const cmsFloat64Number srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, srgb_curve);
    cmsHPROFILE srgb_gray = cmsCreateGrayProfile(cmsD50_xyY(), curve);
    cv::Mat gray;
    cv::cvtColor(srgb_bgr, gray, cv::COLOR_BGR2GRAY);
    out = Transform(gray, srgb_gray, TYPE_GRAY_8, target, TYPE_GRAY_8, CV_8UC1);
    cmsCloseProfile(srgb_gray);
    cmsFreeToneCurve(curve);
  } else {
    out = Transform(srgb_bgr, srgb, TYPE_BGR_8, target, FormatOf(profile.space),
                    profile.space == ProfileSpace::kCmyk ? CV_8UC4 : CV_8UC3);
  }
  cmsCloseProfile(target);
  cmsCloseProfile(srgb);
  return out;
}

cv::Mat LcmsToSrgb(const cv::Mat& pixels, const TestProfile& profile) {
  cmsHPROFILE source = Open(profile.bytes);
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cv::Mat out = Transform(pixels, source, FormatOf(profile.space), srgb, TYPE_BGR_8, CV_8UC3);
  cmsCloseProfile(srgb);
  cmsCloseProfile(source);
  if (profile.space == ProfileSpace::kGray) {  // a neutral gray in sRGB: R = G = B (within rounding)
    cv::Mat green;
    cv::extractChannel(out, green, 1);
    return green;
  }
  return out;
}

std::string JpegWithProfile(const cv::Mat& pixels, const std::string& profile, int quality) {
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(pixels.cols);
  info.image_height = static_cast<JDIMENSION>(pixels.rows);
  info.input_components = pixels.channels();
  info.in_color_space = pixels.channels() == 1 ? JCS_GRAYSCALE : pixels.channels() == 3 ? JCS_EXT_BGR : JCS_CMYK;
  jpeg_set_defaults(&info);  // CMYK: an Adobe marker; the ink is written inverted below, as Photoshop does
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  if (!profile.empty()) {
    jpeg_write_icc_profile(&info, reinterpret_cast<const JOCTET*>(profile.data()),
                           static_cast<unsigned int>(profile.size()));
  }
  cv::Mat rows = pixels;
  if (pixels.channels() == 4) cv::bitwise_not(pixels, rows);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rows.ptr(static_cast<int>(info.next_scanline)));
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string bytes(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return bytes;
}

namespace {
void AppendToString(png_structp png, png_bytep data, size_t size) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), size);
}
void NoFlush(png_structp) {}
}  // namespace

std::string PngWithProfile(const cv::Mat& pixels, const std::string& profile) {
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("libpng could not write a test PNG");
  }
  png_set_write_fn(png, &bytes, AppendToString, NoFlush);
  const bool sixteen = pixels.depth() == CV_16U;
  png_set_IHDR(png, info, static_cast<png_uint_32>(pixels.cols), static_cast<png_uint_32>(pixels.rows),
               sixteen ? 16 : 8, pixels.channels() == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!profile.empty()) {
    png_set_iCCP(png, info, "icc", PNG_COMPRESSION_TYPE_BASE, reinterpret_cast<png_const_bytep>(profile.data()),
                 static_cast<png_uint_32>(profile.size()));
  }
  png_write_info(png, info);
  if (pixels.channels() == 3) png_set_bgr(png);
  if (sixteen) png_set_swap(png);  // PNG stores 16-bit samples big-endian; the host is little-endian
  for (int y = 0; y < pixels.rows; ++y) png_write_row(png, pixels.ptr(y));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return bytes;
}

std::string WebpWithProfile(const cv::Mat& pixels, const std::string& profile) {
  uint8_t* encoded = nullptr;
  const size_t size =
      WebPEncodeLosslessBGR(pixels.ptr(), pixels.cols, pixels.rows, static_cast<int>(pixels.step[0]), &encoded);
  const WebPData image = {encoded, size};
  WebPMux* mux = WebPMuxCreate(&image, 1);
  const WebPData icc = {reinterpret_cast<const uint8_t*>(profile.data()), profile.size()};
  WebPMuxSetChunk(mux, "ICCP", &icc, 1);
  WebPData assembled = {nullptr, 0};
  WebPMuxAssemble(mux, &assembled);
  std::string bytes(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  WebPMuxDelete(mux);
  WebPFree(encoded);
  return bytes;
}

std::string TiffWithProfile(const cv::Mat& pixels, const std::string& profile) {
  char path[] = "/tmp/imgproc_color_tiff_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  TIFF* tiff = TIFFOpen(path, "w");
  const int channels = pixels.channels();
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(pixels.cols));
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(pixels.rows));
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, uint16_t{8});
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(channels));
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, channels == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
  TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, uint32_t{16});
  if (!profile.empty()) {
    TIFFSetField(tiff, TIFFTAG_ICCPROFILE, static_cast<uint32_t>(profile.size()), profile.data());
  }
  cv::Mat rgb = pixels;
  if (channels == 3) cv::cvtColor(pixels, rgb, cv::COLOR_BGR2RGB);
  for (int y = 0; y < rgb.rows; ++y) TIFFWriteScanline(tiff, rgb.ptr(y), static_cast<uint32_t>(y), 0);
  TIFFClose(tiff);
  std::string bytes = ReadFile(path);
  unlink(path);
  return bytes;
}

std::string IccSegment(int sequence, int count, const std::string& piece) {
  std::string segment("ICC_PROFILE\0", 12);
  segment += static_cast<char>(sequence);
  segment += static_cast<char>(count);
  return segment + piece;
}

std::string JpegWithIccSegments(const std::string& jpeg, const std::vector<std::string>& segments) {
  // Drop the file's own APP2 ICC segments (they follow SOI and the JFIF APP0 in what JpegWithProfile writes).
  std::string body;
  size_t i = 2;
  while (i + 4 <= jpeg.size() && static_cast<unsigned char>(jpeg[i]) == 0xFF) {
    const unsigned char marker = static_cast<unsigned char>(jpeg[i + 1]);
    if (marker < 0xE0 || marker > 0xEF) break;
    const size_t length = (static_cast<unsigned char>(jpeg[i + 2]) << 8) | static_cast<unsigned char>(jpeg[i + 3]);
    if (!(marker == 0xE2 && jpeg.compare(i + 4, 12, std::string("ICC_PROFILE\0", 12)) == 0)) {
      body += jpeg.substr(i, 2 + length);
    }
    i += 2 + length;
  }
  std::string out = jpeg.substr(0, 2) + body;
  for (const std::string& segment : segments) {
    const size_t length = segment.size() + 2;
    out += "\xFF\xE2";
    out += static_cast<char>(length >> 8);
    out += static_cast<char>(length & 0xFF);
    out += segment;
  }
  return out + jpeg.substr(i);
}

}  // namespace imgproc::testing
