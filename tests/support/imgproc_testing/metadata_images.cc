#include "imgproc_testing/metadata_images.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <webp/demux.h>
#include <webp/mux.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {

namespace {

constexpr char kExifPrefix[] = "Exif\0\0";
constexpr char kXmpNamespace[] = "http://ns.adobe.com/xap/1.0/";  // and its NUL
constexpr char kPngXmpKeyword[] = "XML:com.adobe.xmp";

std::string Hex(unsigned tag) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%04x", tag);
  return text;
}

void AddAscii(ExifData* data, ExifIfd ifd, ExifTag tag, const std::string& text) {
  if (text.empty()) return;
  ExifEntry* entry = exif_entry_new();
  entry->tag = tag;
  entry->format = EXIF_FORMAT_ASCII;
  entry->components = text.size() + 1;
  entry->size = static_cast<unsigned int>(text.size() + 1);
  entry->data = static_cast<unsigned char*>(std::calloc(1, entry->size));
  std::memcpy(entry->data, text.data(), text.size());
  exif_content_add_entry(data->ifd[ifd], entry);
  exif_entry_unref(entry);
}

void AddNumber(ExifData* data, ExifIfd ifd, ExifTag tag, ExifFormat format, uint32_t value) {
  ExifEntry* entry = exif_entry_new();
  entry->tag = tag;
  entry->format = format;
  entry->components = 1;
  entry->size = format == EXIF_FORMAT_SHORT ? 2 : 4;
  entry->data = static_cast<unsigned char*>(std::calloc(1, entry->size));
  exif_content_add_entry(data->ifd[ifd], entry);
  const ExifByteOrder order = exif_data_get_byte_order(data);
  if (format == EXIF_FORMAT_SHORT) {
    exif_set_short(entry->data, order, static_cast<ExifShort>(value));
  } else {
    exif_set_long(entry->data, order, value);
  }
  exif_entry_unref(entry);
}

struct JpegErrorJump {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
};

void JumpOnJpegError(j_common_ptr info) { std::longjmp(reinterpret_cast<JpegErrorJump*>(info->err)->jump, 1); }

std::string Payload(const jpeg_saved_marker_ptr marker) {
  return std::string(reinterpret_cast<const char*>(marker->data), marker->data_length);
}

bool Decodes(const std::string& bytes) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  return !cv::imdecode(buffer, cv::IMREAD_UNCHANGED).empty();
}

}  // namespace

std::string IccProfile(const std::string& relative) { return ReadFile("/usr/share/color/icc/" + relative); }

std::string ExifBlock(const ExifFields& fields) {
  ExifData* data = exif_data_new();
  exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);  // no tags of libexif's own choosing
  exif_data_set_byte_order(data, fields.big_endian ? EXIF_BYTE_ORDER_MOTOROLA : EXIF_BYTE_ORDER_INTEL);
  if (fields.orientation != 0) AddNumber(data, EXIF_IFD_0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, fields.orientation);
  AddAscii(data, EXIF_IFD_0, EXIF_TAG_MAKE, fields.make);
  AddAscii(data, EXIF_IFD_0, EXIF_TAG_COPYRIGHT, fields.copyright);
  AddAscii(data, EXIF_IFD_0, EXIF_TAG_ARTIST, fields.artist);
  if (fields.pixel_width != 0) {
    AddNumber(data, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, EXIF_FORMAT_LONG, fields.pixel_width);
    AddNumber(data, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, EXIF_FORMAT_LONG, fields.pixel_height);
  }
  if (fields.gps) AddAscii(data, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), "N");
  if (!fields.thumbnail.empty()) {
    data->data = static_cast<unsigned char*>(std::malloc(fields.thumbnail.size()));
    std::memcpy(data->data, fields.thumbnail.data(), fields.thumbnail.size());
    data->size = static_cast<unsigned int>(fields.thumbnail.size());
  }
  unsigned char* saved = nullptr;
  unsigned int size = 0;
  exif_data_save_data(data, &saved, &size);
  exif_data_unref(data);
  std::string block(reinterpret_cast<const char*>(saved), size);
  std::free(saved);
  return block.substr(6);  // libexif writes JPEG's "Exif\0\0" first
}

std::string XmpPacket(const std::string& rights, int orientation) {
  std::string packet =
      "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
      "<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
      "xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\"";
  if (orientation != 0) packet += " tiff:Orientation=\"" + std::to_string(orientation) + "\"";
  packet += "><dc:rights><rdf:Alt><rdf:li xml:lang=\"x-default\">" + rights +
            "</rdf:li></rdf:Alt></dc:rights></rdf:Description>\n</rdf:RDF></x:xmpmeta>\n";
  packet += std::string(200, ' ') + "\n<?xpacket end=\"w\"?>";
  return packet;
}

std::string JpegWith(const cv::Mat& image, const Metadata& metadata, int quality) {
  jpeg_compress_struct info;
  JpegErrorJump error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JumpOnJpegError;
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (setjmp(error.jump)) {
    jpeg_destroy_compress(&info);
    std::free(out);
    ADD_FAILURE() << "libjpeg could not write the test JPEG";
    return "";
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, &out, &size);
  info.image_width = image.cols;
  info.image_height = image.rows;
  info.input_components = 3;
  info.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  if (metadata.exif) {
    const std::string payload = std::string(kExifPrefix, 6) + *metadata.exif;
    jpeg_write_marker(&info, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(payload.data()), payload.size());
  }
  if (metadata.xmp) {
    const std::string payload = std::string(kXmpNamespace, sizeof(kXmpNamespace)) + *metadata.xmp;
    jpeg_write_marker(&info, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(payload.data()), payload.size());
  }
  if (metadata.icc_profile) {
    jpeg_write_icc_profile(&info, reinterpret_cast<const JOCTET*>(metadata.icc_profile->data()),
                           metadata.icc_profile->size());
  }
  const cv::Mat bgr = image.isContinuous() ? image : image.clone();
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(bgr.ptr<unsigned char>(info.next_scanline));
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::string bytes(reinterpret_cast<const char*>(out), size);
  std::free(out);
  return bytes;
}

ReadMetadata ReadJpegMetadata(const std::string& jpeg) {
  ReadMetadata read;
  read.decodes = Decodes(jpeg);
  jpeg_decompress_struct info;
  JpegErrorJump error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JumpOnJpegError;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    read.blocks.push_back("unreadable");
    return read;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size());
  jpeg_save_markers(&info, JPEG_COM, 0xFFFF);
  for (int m = 0; m < 16; ++m) jpeg_save_markers(&info, JPEG_APP0 + m, 0xFFFF);
  jpeg_read_header(&info, TRUE);
  for (jpeg_saved_marker_ptr marker = info.marker_list; marker != nullptr; marker = marker->next) {
    const std::string payload = Payload(marker);
    if (marker->marker == JPEG_COM) {
      read.blocks.push_back("COM");
      continue;
    }
    read.blocks.push_back("APP" + std::to_string(marker->marker - JPEG_APP0) + ":" +
                          payload.substr(0, std::min<size_t>(payload.find('\0'), 32)));
    if (marker->marker == JPEG_APP0 + 1 && payload.compare(0, 6, kExifPrefix, 6) == 0 && !read.metadata.exif) {
      read.metadata.exif = payload.substr(6);
    }
    if (marker->marker == JPEG_APP0 + 1 &&
        payload.compare(0, sizeof(kXmpNamespace), kXmpNamespace, sizeof(kXmpNamespace)) == 0) {
      read.metadata.xmp = payload.substr(sizeof(kXmpNamespace));
    }
  }
  JOCTET* icc = nullptr;
  unsigned int icc_size = 0;
  if (jpeg_read_icc_profile(&info, &icc, &icc_size)) {
    read.metadata.icc_profile = std::string(reinterpret_cast<const char*>(icc), icc_size);
    std::free(icc);
  }
  jpeg_destroy_decompress(&info);
  return read;
}

namespace {

struct PngWriteTarget {
  std::string bytes;
};

void AppendPngData(png_structp png, png_bytep data, png_size_t length) {
  static_cast<PngWriteTarget*>(png_get_io_ptr(png))->bytes.append(reinterpret_cast<const char*>(data), length);
}

struct PngReadSource {
  const std::string* bytes;
  size_t at = 8;
};

void ReadPngData(png_structp png, png_bytep data, png_size_t length) {
  auto* source = static_cast<PngReadSource*>(png_get_io_ptr(png));
  if (source->bytes->size() - source->at < length) png_error(png, "read past the end");
  std::memcpy(data, source->bytes->data() + source->at, length);
  source->at += length;
}

}  // namespace

std::string PngWith(const cv::Mat& image, const Metadata& metadata) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  PngWriteTarget target;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng could not write the test PNG";
    return "";
  }
  png_set_write_fn(png, &target, AppendPngData, nullptr);
  png_set_IHDR(png, info, image.cols, image.rows, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (metadata.icc_profile) {
    png_set_iCCP(png, info, "test profile", PNG_COMPRESSION_TYPE_BASE,
                 reinterpret_cast<png_const_bytep>(metadata.icc_profile->data()),
                 static_cast<png_uint_32>(metadata.icc_profile->size()));
  }
  if (metadata.exif) {
    png_set_eXIf_1(png, info, static_cast<png_uint_32>(metadata.exif->size()),
                   reinterpret_cast<png_bytep>(const_cast<char*>(metadata.exif->data())));
  }
  std::string xmp = metadata.xmp.value_or("");
  png_text text{};
  if (metadata.xmp) {
    text.compression = PNG_ITXT_COMPRESSION_NONE;
    text.key = const_cast<char*>(kPngXmpKeyword);
    text.text = xmp.data();
    text.itxt_length = xmp.size();
    text.lang = const_cast<char*>("");
    text.lang_key = const_cast<char*>("");
    png_set_text(png, info, &text, 1);
  }
  png_set_bgr(png);
  png_write_info(png, info);
  const cv::Mat bgr = image.isContinuous() ? image : image.clone();
  for (int y = 0; y < bgr.rows; ++y) png_write_row(png, const_cast<png_bytep>(bgr.ptr<unsigned char>(y)));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return target.bytes;
}

ReadMetadata ReadPngMetadata(const std::string& bytes) {
  ReadMetadata read;
  read.decodes = Decodes(bytes);
  // The chunk names, walked by their lengths.
  for (size_t i = 8; i + 12 <= bytes.size();) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + i);
    const size_t length = size_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3];
    const std::string type = bytes.substr(i + 4, 4);
    for (const char* named : {"iCCP", "eXIf", "iTXt", "tEXt", "zTXt", "sRGB", "gAMA", "cHRM"}) {
      if (type == named) read.blocks.push_back(type);
    }
    i += 12 + length;
  }
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_infop end = png_create_info_struct(png);
  PngReadSource source{&bytes};
  if (bytes.size() < 8 || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, &end);
    read.blocks.push_back("unreadable");
    return read;
  }
  png_set_read_fn(png, &source, ReadPngData);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  png_charp name = nullptr;
  int compression = 0;
  png_bytep profile = nullptr;
  png_uint_32 profile_size = 0;
  if (png_get_iCCP(png, info, &name, &compression, &profile, &profile_size) != 0) {
    read.metadata.icc_profile = std::string(reinterpret_cast<const char*>(profile), profile_size);
  }
  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(png, info, &exif_size, &exif) != 0) {
    read.metadata.exif = std::string(reinterpret_cast<const char*>(exif), exif_size);
  }
  png_textp texts = nullptr;
  int count = 0;
  png_get_text(png, info, &texts, &count);
  for (int t = 0; t < count; ++t) {
    if (std::strcmp(texts[t].key, kPngXmpKeyword) == 0) {
      read.metadata.xmp = std::string(texts[t].text, texts[t].itxt_length);
    }
  }
  png_destroy_read_struct(&png, &info, &end);
  return read;
}

std::string WebpWith(const cv::Mat& image, const Metadata& metadata) {
  const std::string encoded = EncodeAs(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 90});
  const WebPData input = {reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size()};
  WebPMux* mux = WebPMuxCreate(&input, 1);
  auto set = [&](const char* fourcc, const std::optional<std::string>& block) {
    if (!block) return;
    const WebPData chunk = {reinterpret_cast<const uint8_t*>(block->data()), block->size()};
    EXPECT_EQ(WebPMuxSetChunk(mux, fourcc, &chunk, 1), WEBP_MUX_OK) << fourcc;
  };
  set("ICCP", metadata.icc_profile);
  set("EXIF", metadata.exif);
  set("XMP ", metadata.xmp);
  WebPData assembled = {nullptr, 0};
  EXPECT_EQ(WebPMuxAssemble(mux, &assembled), WEBP_MUX_OK);
  std::string bytes(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  WebPMuxDelete(mux);
  return bytes;
}

ReadMetadata ReadWebpMetadata(const std::string& bytes) {
  ReadMetadata read;
  read.decodes = Decodes(bytes);
  const WebPData data = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPDemuxer* demux = WebPDemux(&data);
  if (demux == nullptr) {
    read.blocks.push_back("unreadable");
    return read;
  }
  const uint32_t flags = WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS);
  auto get = [&](const char* fourcc, uint32_t flag, std::optional<std::string>& into) {
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux, fourcc, 1, &chunk)) {
      read.blocks.push_back(fourcc);
      into = std::string(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size);
      // A chunk without its VP8X flag is one that readers may skip.
      if ((flags & flag) == 0) read.blocks.push_back(std::string("no VP8X flag for ") + fourcc);
      WebPDemuxReleaseChunkIterator(&chunk);
    }
  };
  get("ICCP", ICCP_FLAG, read.metadata.icc_profile);
  get("EXIF", EXIF_FLAG, read.metadata.exif);
  get("XMP ", XMP_FLAG, read.metadata.xmp);
  WebPDemuxDelete(demux);
  return read;
}

ReadMetadata ReadAnswerMetadata(const std::string& bytes, const std::string& format) {
  if (format == "jpeg") return ReadJpegMetadata(bytes);
  if (format == "png") return ReadPngMetadata(bytes);
  if (format == "webp") return ReadWebpMetadata(bytes);
  ReadMetadata none;
  none.blocks.push_back("not an image format: " + format);
  return none;
}

ParsedExif ParseExif(const std::string& tiff) {
  ParsedExif parsed;
  ExifData* data = exif_data_new();
  exif_data_unset_option(data, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
  exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  const std::string block = std::string(kExifPrefix, 6) + tiff;
  exif_data_load_data(data, reinterpret_cast<const unsigned char*>(block.data()),
                      static_cast<unsigned int>(block.size()));
  const ExifByteOrder order = exif_data_get_byte_order(data);
  const std::pair<ExifIfd, const char*> ifds[] = {
      {EXIF_IFD_0, "0"}, {EXIF_IFD_EXIF, "exif"}, {EXIF_IFD_GPS, "gps"}, {EXIF_IFD_INTEROPERABILITY, "interop"}};
  for (const auto& [ifd, name] : ifds) {
    ExifContent* content = data->ifd[ifd];
    for (unsigned int e = 0; e < content->count; ++e) {
      const ExifEntry* entry = content->entries[e];
      parsed.tags.push_back(std::string(name) + ":" + Hex(entry->tag));
      parsed.loaded = true;
      auto number = [&] {
        return entry->format == EXIF_FORMAT_SHORT ? exif_get_short(entry->data, order)
                                                  : static_cast<int>(exif_get_long(entry->data, order));
      };
      auto text = [&] {
        return std::string(reinterpret_cast<const char*>(entry->data),
                           strnlen(reinterpret_cast<const char*>(entry->data), entry->size));
      };
      if (ifd == EXIF_IFD_0 && entry->tag == EXIF_TAG_ORIENTATION) parsed.orientation = number();
      if (ifd == EXIF_IFD_0 && entry->tag == EXIF_TAG_MAKE) parsed.make = text();
      if (ifd == EXIF_IFD_0 && entry->tag == EXIF_TAG_COPYRIGHT) parsed.copyright = text();
      if (ifd == EXIF_IFD_0 && entry->tag == EXIF_TAG_ARTIST) parsed.artist = text();
      if (ifd == EXIF_IFD_EXIF && entry->tag == EXIF_TAG_PIXEL_X_DIMENSION) parsed.pixel_width = number();
      if (ifd == EXIF_IFD_EXIF && entry->tag == EXIF_TAG_PIXEL_Y_DIMENSION) parsed.pixel_height = number();
    }
  }
  parsed.thumbnail_bytes = data->size;
  exif_data_unref(data);
  return parsed;
}

}  // namespace imgproc::testing
