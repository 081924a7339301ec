#pragma once
// What of an input's metadata an answer keeps (codec/metadata.h does the keeping). Everything is stripped by default:
// EXIF can hold a photo's GPS position, the camera's serial number and a thumbnail of the uncropped photo.

namespace imgproc {

enum class ExifPolicy {
  kStrip,
  kKeep,           // rewritten: Orientation 1 once applied, no thumbnail (IFD1), the answer's pixel dimensions
  kCopyrightOnly,  // a minimal EXIF with IFD0's Copyright and Artist alone
};

struct MetadataPolicy {
  bool keep_icc_profile = false;
  ExifPolicy exif = ExifPolicy::kStrip;
  bool keep_xmp = false;

  bool KeepsAny() const { return keep_icc_profile || exif != ExifPolicy::kStrip || keep_xmp; }
};

}  // namespace imgproc
