#include "imgproc_testing/heif_images.h"

#include <avif/avif.h>
#include <libheif/heif.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <opencv2/imgproc.hpp>

namespace imgproc::testing {
namespace {

void Check(const heif_error& error, const char* what) {
  if (error.code != heif_error_Ok) {
    std::cerr << "heif_images: " << what << ": " << error.message << std::endl;
    std::abort();
  }
}

// `bytes` big-endian bytes of `value`; past its 8 bytes, zeros (a 12-byte reserved field).
void PutBe(std::string& out, uint64_t value, int bytes) {
  for (int k = bytes - 1; k >= 0; --k) out += k >= 8 ? '\0' : static_cast<char>((value >> (8 * k)) & 0xFF);
}

std::string Box(const char* type, const std::string& payload) {
  std::string out;
  PutBe(out, 8 + payload.size(), 4);
  out.append(type, 4);
  return out + payload;
}

std::string FullBox(const char* type, int version, const std::string& payload) {
  std::string head;
  PutBe(head, static_cast<uint64_t>(version) << 24, 4);
  return Box(type, head + payload);
}

// The box of `type` inside `file` (the first one), whole; empty when there is none.
std::string FindBox(const std::string& file, const char* type) {
  for (size_t at = file.find(type, 4); at != std::string::npos; at = file.find(type, at + 1)) {
    const auto* p = reinterpret_cast<const unsigned char*>(file.data() + at - 4);
    const uint32_t size = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (size >= 8 && at - 4 + size <= file.size()) return file.substr(at - 4, size);
  }
  return "";
}

std::string Ispe(uint32_t width, uint32_t height) {
  std::string payload;
  PutBe(payload, width, 4);
  PutBe(payload, height, 4);
  return FullBox("ispe", 0, payload);
}

struct ItemDef {
  uint16_t id;
  const char* type;
  std::string data;
  bool in_idat = false;
  std::vector<uint8_t> properties;  // 1-based into the property list
};

struct Reference {
  const char* type;
  uint16_t from;
  std::vector<uint16_t> to;
};

// ftyp, meta (hdlr, pitm, iinf, iloc, iref, iprp, idat) and mdat, with the items' data in mdat (or idat).
std::string Assemble(bool av1, uint16_t primary, const std::vector<ItemDef>& items,
                     const std::vector<std::string>& properties, const std::vector<Reference>& references) {
  std::string ftyp_payload = av1 ? "avif" : "heic";
  PutBe(ftyp_payload, 0, 4);
  ftyp_payload += av1 ? "avifmif1miaf" : "heicmif1miaf";
  const std::string ftyp = Box("ftyp", ftyp_payload);
  std::string idat_payload;
  std::vector<uint32_t> idat_offsets;
  for (const ItemDef& item : items) {
    idat_offsets.push_back(static_cast<uint32_t>(idat_payload.size()));
    if (item.in_idat) idat_payload += item.data;
  }
  auto meta_with = [&](uint32_t mdat_data_start) {
    std::string hdlr;
    PutBe(hdlr, 0, 4);
    hdlr += "pict";
    PutBe(hdlr, 0, 12);
    hdlr += '\0';
    std::string pitm;
    PutBe(pitm, primary, 2);
    std::string iinf;
    PutBe(iinf, items.size(), 2);
    std::string iloc;
    PutBe(iloc, (4 << 12) | (4 << 8), 2);
    PutBe(iloc, items.size(), 2);
    std::string ipma;
    PutBe(ipma, items.size(), 4);
    uint32_t mdat_offset = mdat_data_start;
    for (size_t k = 0; k < items.size(); ++k) {
      const ItemDef& item = items[k];
      std::string infe;
      PutBe(infe, item.id, 2);
      PutBe(infe, 0, 2);
      infe.append(item.type, 4);
      infe += '\0';
      iinf += FullBox("infe", 2, infe);
      PutBe(iloc, item.id, 2);
      PutBe(iloc, item.in_idat ? 1 : 0, 2);
      PutBe(iloc, 0, 2);
      PutBe(iloc, 1, 2);
      PutBe(iloc, item.in_idat ? idat_offsets[k] : mdat_offset, 4);
      PutBe(iloc, item.data.size(), 4);
      if (!item.in_idat) mdat_offset += static_cast<uint32_t>(item.data.size());
      PutBe(ipma, item.id, 2);
      PutBe(ipma, item.properties.size(), 1);
      for (uint8_t index : item.properties) PutBe(ipma, 0x80 | index, 1);
    }
    std::string iref;
    for (const Reference& r : references) {
      std::string payload;
      PutBe(payload, r.from, 2);
      PutBe(payload, r.to.size(), 2);
      for (uint16_t to : r.to) PutBe(payload, to, 2);
      iref += Box(r.type, payload);
    }
    std::string ipco;
    for (const std::string& property : properties) ipco += property;
    std::string meta = FullBox("hdlr", 0, hdlr) + FullBox("pitm", 0, pitm) + FullBox("iinf", 0, iinf) +
                       FullBox("iloc", 1, iloc) + (iref.empty() ? "" : FullBox("iref", 0, iref)) +
                       Box("iprp", Box("ipco", ipco) + FullBox("ipma", 0, ipma)) +
                       (idat_payload.empty() ? "" : Box("idat", idat_payload));
    return FullBox("meta", 0, meta);
  };
  const size_t meta_size = meta_with(0).size();
  const std::string meta = meta_with(static_cast<uint32_t>(ftyp.size() + meta_size + 8));
  std::string mdat_payload;
  for (const ItemDef& item : items) {
    if (!item.in_idat) mdat_payload += item.data;
  }
  return ftyp + meta + Box("mdat", mdat_payload);
}

heif_error WriteToString(heif_context*, const void* data, size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

struct Coded {
  std::string config;  // hvcC or av1C box
  std::string pixi;    // may be empty
  std::string colr;    // may be empty
  std::string data;    // the one item's coded data (mdat's payload)
};

Coded CodedParts(const std::string& file, bool av1) {
  Coded coded;
  coded.config = FindBox(file, av1 ? "av1C" : "hvcC");
  coded.pixi = FindBox(file, "pixi");
  coded.colr = FindBox(file, "colr");
  const std::string mdat = FindBox(file, "mdat");
  coded.data = mdat.substr(8);
  return coded;
}

std::vector<std::string> Transforms(int irot_quarters, int imir_axis) {
  std::vector<std::string> boxes;
  if (irot_quarters != 0) boxes.push_back(Box("irot", std::string(1, static_cast<char>(irot_quarters & 3))));
  if (imir_axis >= 0) boxes.push_back(Box("imir", std::string(1, static_cast<char>(imir_axis & 1))));
  return boxes;
}

}  // namespace

// AVIF through libavif's API (aom underneath): libheif 1.15 hands aom a 10-bit image as profile 2 (it counts the
// plane's 16 storage bits), on which aom 3.6 asserts.
std::string EncodeAvif(const cv::Mat& bgr, const HeifEncodeOptions& options) {
  const bool alpha = bgr.channels() == 4;
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, alpha ? cv::COLOR_BGRA2RGBA : cv::COLOR_BGR2RGB);
  avifImage* image = avifImageCreate(rgb.cols, rgb.rows, options.bit_depth,
                                     options.monochrome ? AVIF_PIXEL_FORMAT_YUV400 : AVIF_PIXEL_FORMAT_YUV420);
  avifRGBImage pixels;
  avifRGBImageSetDefaults(&pixels, image);
  pixels.format = alpha ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
  pixels.depth = 8;
  pixels.pixels = rgb.data;
  pixels.rowBytes = static_cast<uint32_t>(rgb.step);
  if (avifImageRGBToYUV(image, &pixels) != AVIF_RESULT_OK) {
    std::cerr << "heif_images: avifImageRGBToYUV failed" << std::endl;
    std::abort();
  }
  avifEncoder* encoder = avifEncoderCreate();
  encoder->speed = 8;
  // libavif 0.11 takes quantizers (0 best, 63 worst): quality q maps to about (100 - q) * 63 / 100.
  encoder->minQuantizer = encoder->maxQuantizer = (100 - options.quality) * 63 / 100;
  encoder->minQuantizerAlpha = encoder->maxQuantizerAlpha = (100 - options.quality) * 63 / 100;
  avifRWData out = AVIF_DATA_EMPTY;
  const avifResult result = avifEncoderWrite(encoder, image, &out);
  if (result != AVIF_RESULT_OK) {
    std::cerr << "heif_images: avifEncoderWrite: " << avifResultToString(result) << std::endl;
    std::abort();
  }
  std::string bytes(reinterpret_cast<const char*>(out.data), out.size);
  avifRWDataFree(&out);
  avifEncoderDestroy(encoder);
  avifImageDestroy(image);
  return bytes;
}

std::string EncodeHeif(const cv::Mat& bgr, const HeifEncodeOptions& options) {
  if (options.codec == HeifCodec::kAv1) return EncodeAvif(bgr, options);
  const bool alpha = bgr.channels() == 4;
  const bool deep = options.bit_depth > 8;
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, alpha ? cv::COLOR_BGRA2RGBA : cv::COLOR_BGR2RGB);
  if (deep) rgb.convertTo(rgb, CV_16U, 1023.0 / 255.0);
  heif_image* image = nullptr;
  const heif_chroma chroma = alpha ? (deep ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RGBA)
                                   : (deep ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RGB);
  Check(heif_image_create(rgb.cols, rgb.rows, heif_colorspace_RGB, chroma, &image), "heif_image_create");
  Check(heif_image_add_plane(image, heif_channel_interleaved, rgb.cols, rgb.rows, options.bit_depth),
        "heif_image_add_plane");
  int stride = 0;
  uint8_t* plane = heif_image_get_plane(image, heif_channel_interleaved, &stride);
  const size_t row_bytes = rgb.cols * rgb.elemSize();
  for (int y = 0; y < rgb.rows; ++y) std::memcpy(plane + static_cast<size_t>(y) * stride, rgb.ptr(y), row_bytes);
  if (!options.icc.empty()) {
    Check(heif_image_set_raw_color_profile(image, "prof", options.icc.data(), options.icc.size()), "icc");
  } else if (options.nclx_primaries != 0) {
    heif_color_profile_nclx* nclx = heif_nclx_color_profile_alloc();
    Check(heif_nclx_color_profile_set_color_primaries(nclx, static_cast<uint16_t>(options.nclx_primaries)), "nclx");
    Check(heif_nclx_color_profile_set_transfer_characteristics(nclx, static_cast<uint16_t>(options.nclx_transfer)),
          "nclx");
    Check(heif_nclx_color_profile_set_matrix_coefficients(nclx, 6), "nclx");
    nclx->full_range_flag = 1;
    Check(heif_image_set_nclx_color_profile(image, nclx), "nclx");
    heif_nclx_color_profile_free(nclx);
  }
  heif_context* context = heif_context_alloc();
  heif_encoder* encoder = nullptr;
  Check(heif_context_get_encoder_for_format(
            context, options.codec == HeifCodec::kAv1 ? heif_compression_AV1 : heif_compression_HEVC, &encoder),
        "no encoder for the format (libheif's x265 and aom plugins)");
  Check(heif_encoder_set_lossy_quality(encoder, options.quality), "quality");
  Check(heif_encoder_set_parameter(encoder, "chroma", "420"), "chroma");  // as phones write
  heif_image_handle* handle = nullptr;
  heif_encoding_options* encoding = heif_encoding_options_alloc();
  // libheif 1.15 leaves the nclx box out by default (a macOS workaround): written when the test asks for one.
  encoding->macOS_compatibility_workaround_no_nclx_profile = options.nclx_primaries != 0 ? 0 : 1;
  Check(heif_context_encode_image(context, image, encoder, encoding, &handle), "heif_context_encode_image");
  heif_encoding_options_free(encoding);
  std::string out;
  heif_writer writer{1, &WriteToString};
  Check(heif_context_write(context, &writer, &out), "heif_context_write");
  heif_image_handle_release(handle);
  heif_encoder_release(encoder);
  heif_image_release(image);
  heif_context_free(context);
  return out;
}

std::string EncodeHeifRotated(const cv::Mat& bgr, const HeifEncodeOptions& options, int irot_quarters, int imir_axis) {
  const bool av1 = options.codec == HeifCodec::kAv1;
  const Coded coded = CodedParts(EncodeHeif(bgr, options), av1);
  std::vector<std::string> properties = {coded.config, Ispe(bgr.cols, bgr.rows)};
  std::vector<uint8_t> associated = {1, 2};
  for (const std::string& extra : {coded.pixi, coded.colr}) {
    if (extra.empty()) continue;
    properties.push_back(extra);
    associated.push_back(static_cast<uint8_t>(properties.size()));
  }
  for (std::string& transform : Transforms(irot_quarters, imir_axis)) {
    properties.push_back(std::move(transform));
    associated.push_back(static_cast<uint8_t>(properties.size()));
  }
  std::vector<ItemDef> items = {ItemDef{1, av1 ? "av01" : "hvc1", coded.data, false, associated}};
  std::vector<Reference> references;
  if (!options.exif.empty()) {
    std::string exif;
    PutBe(exif, 0, 4);  // the TIFF header's offset within what follows
    items.push_back(ItemDef{2, "Exif", exif + options.exif, false, {}});
    references.push_back(Reference{"cdsc", 2, {1}});
  }
  return Assemble(av1, 1, items, properties, references);
}

std::string EncodeHeifGrid(const cv::Mat& bgr, int tile_size, const HeifEncodeOptions& options, int irot_quarters,
                           int imir_axis) {
  const bool av1 = options.codec == HeifCodec::kAv1;
  const int columns = (bgr.cols + tile_size - 1) / tile_size, rows = (bgr.rows + tile_size - 1) / tile_size;
  cv::Mat padded;
  cv::copyMakeBorder(bgr, padded, 0, rows * tile_size - bgr.rows, 0, columns * tile_size - bgr.cols,
                     cv::BORDER_REPLICATE);
  std::vector<ItemDef> items;
  std::vector<std::string> properties;
  std::vector<uint16_t> tile_ids;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns; ++c) {
      const Coded coded =
          CodedParts(EncodeHeif(padded(cv::Rect(c * tile_size, r * tile_size, tile_size, tile_size)), options), av1);
      if (properties.empty()) {
        // Every tile shares the first one's decoder configuration (the same encoder settings and size) and ispe.
        properties = {coded.config, Ispe(tile_size, tile_size)};
        if (!coded.pixi.empty()) properties.push_back(coded.pixi);
      }
      const auto id = static_cast<uint16_t>(2 + items.size());
      std::vector<uint8_t> associated = {1, 2};
      if (properties.size() > 2) associated.push_back(3);
      items.push_back(ItemDef{id, av1 ? "av01" : "hvc1", coded.data, false, associated});
      tile_ids.push_back(id);
    }
  }
  properties.push_back(Ispe(bgr.cols, bgr.rows));
  std::vector<uint8_t> grid_properties = {static_cast<uint8_t>(properties.size())};
  for (std::string& transform : Transforms(irot_quarters, imir_axis)) {
    properties.push_back(std::move(transform));
    grid_properties.push_back(static_cast<uint8_t>(properties.size()));
  }
  std::string grid;
  PutBe(grid, 0, 2);  // version 0, flags 0: 16-bit output size
  PutBe(grid, rows - 1, 1);
  PutBe(grid, columns - 1, 1);
  PutBe(grid, bgr.cols, 2);
  PutBe(grid, bgr.rows, 2);
  items.insert(items.begin(), ItemDef{1, "grid", grid, true, grid_properties});
  return Assemble(av1, 1, items, properties, {Reference{"dimg", 1, tile_ids}});
}

std::string HostileHeifGrid(uint32_t width, uint32_t height, int rows, int columns, uint32_t tile_width,
                            uint32_t tile_height, bool self_reference) {
  std::vector<std::string> properties = {Box("hvcC", std::string(23, '\0')), Ispe(tile_width, tile_height),
                                         Ispe(width, height)};
  std::vector<ItemDef> items;
  std::vector<uint16_t> tile_ids;
  const int tiles = rows * columns;
  // Every tile item the grid names, each with a few bytes of junk: the item count grows with the grid.
  for (int k = 0; k < std::min(tiles, 4000); ++k) {
    const auto id = static_cast<uint16_t>(2 + k);
    items.push_back(ItemDef{id, "hvc1", std::string(4, '\x11'), false, {1, 2}});
    tile_ids.push_back(id);
  }
  while (static_cast<int>(tile_ids.size()) < tiles) tile_ids.push_back(tile_ids.empty() ? 2 : tile_ids.back());
  if (self_reference && !tile_ids.empty()) tile_ids[0] = 1;
  std::string grid;
  PutBe(grid, 0, 1);
  PutBe(grid, 1, 1);  // 32-bit output size
  PutBe(grid, rows - 1, 1);
  PutBe(grid, columns - 1, 1);
  PutBe(grid, width, 4);
  PutBe(grid, height, 4);
  items.insert(items.begin(), ItemDef{1, "grid", grid, true, {3}});
  return Assemble(false, 1, items, properties, {Reference{"dimg", 1, tile_ids}});
}

}  // namespace imgproc::testing
