#pragma once
// An uploaded picture turned into what clients get (API.md "Images"): the bytes are judged by
// their own signature (never the Content-Type), decoded only by the JPEG, PNG, WebP (and HEIF)
// loaders, refused when larger than the pixel limit before a pixel is decoded, auto-rotated,
// converted to sRGB and re-encoded without any metadata as three renditions, each in WebP
// (alpha kept) and JPEG (flattened onto white).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wassally::media {

/// What the first bytes say an upload is.
enum class image_format { unknown, jpeg, png, webp, heif };

/// The format the leading bytes of `bytes` announce (unknown for anything else: PDF, SVG,
/// GIF, ...).
image_format sniff_format(std::string_view bytes);

/// The renditions made of every picture: name and longest side in pixels.
struct rendition_size {
  const char* name;
  int longest_side;
};
inline constexpr rendition_size rendition_sizes[] = {
    {"large", 1600}, {"medium", 640}, {"thumb", 160}};

struct rendition {
  std::string name;  // "large", "medium", "thumb"
  int width = 0;
  int height = 0;
  std::string webp;
  std::string jpeg;
};

struct processed_picture {
  /// SHA-256 (hex) of the normalised large rendition's pixels: the picture's identity. The
  /// media key of one rendition is `<digest>-<name>`.
  std::string digest;
  std::vector<rendition> renditions;
};

struct pipeline_limits {
  uint64_t max_pixels = 40'000'000;
  int jpeg_quality = 82;
  int webp_quality = 80;
};

/// Sets libvips up once per process: `threads` worker threads per image operation, no
/// operation cache (uploads are never processed twice), and every loader blocked except
/// JPEG, PNG, WebP and HEIF, so that PDF, SVG, ImageMagick and the other untrusted loaders
/// Debian's libvips links can never see an upload. Returns whether HEIF can be read.
bool start_image_library(const char* program, int threads);

/// Whether the installed libvips reads HEIF/HEIC (after start_image_library).
bool heif_supported();

/// The renditions of `bytes`. Throws api_exception: 415 unsupported_media_type for anything
/// that is not JPEG, PNG, WebP (or HEIF where supported); 400 invalid_image for more than
/// `max_pixels` pixels or bytes that do not decode (truncated, corrupt).
processed_picture process_picture(std::string_view bytes, const pipeline_limits& limits);

/// libvips' own accounting of the pixel buffers it holds now and at most since start.
struct image_memory {
  std::size_t current = 0;
  std::size_t highwater = 0;
};
image_memory image_library_memory();

}  // namespace wassally::media
