#pragma once
// Real pictures for tests, made with libvips (the library the server decodes them with), and
// what tests read back from a rendition.

#include <vips/vips8>

#include <string>
#include <vector>

namespace wassally::test {

/// Starts libvips once for the test process.
void start_vips();

/// An 8-bit sRGB picture `w`×`h`: the left half `left`, the right half `right` (RGB).
vips::VImage two_halves(int w, int h, std::vector<double> left, std::vector<double> right);

/// EXIF (APP1 payload, "Exif\0\0" + little-endian TIFF) with Orientation `orientation` and a GPS
/// position (30°2'0" N): what a phone camera writes.
std::string phone_exif(int orientation);

/// JPEG bytes of `image`, with `exif` (empty: none) as its EXIF block and its orientation tag
/// `orientation` (0: none).
std::string jpeg_of(const vips::VImage& image, const std::string& exif = {}, int orientation = 0,
                    int quality = 85);
std::string png_of(const vips::VImage& image);
std::string webp_of(const vips::VImage& image);

/// A picture decoded from `bytes` (any format libvips reads).
vips::VImage decode(const std::string& bytes);

/// Whether `image` carries any metadata a camera or editor leaves: EXIF, XMP, IPTC, ICC.
bool has_metadata(const vips::VImage& image);

/// A multipart/form-data body with one file field; returns the body, sets `content_type`.
std::string multipart_body(const std::string& field, const std::string& filename,
                           const std::string& part_type, const std::string& bytes,
                           std::string& content_type);

}  // namespace wassally::test
