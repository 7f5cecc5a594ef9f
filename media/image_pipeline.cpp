#include "media/image_pipeline.hpp"

#include <sodium.h>
#include <webp/mux.h>
#include <vips/vips8>

#include <atomic>
#include <cstring>
#include <set>
#include <string>

#include "protocols/errors.hpp"

namespace wassally::media {
namespace {

std::atomic<bool> heif_readable{false};

bool starts_with(std::string_view bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && bytes.compare(0, prefix.size(), prefix) == 0;
}

/// A libvips blob over `bytes` without copying them (the caller keeps them alive).
struct borrowed_blob {
  explicit borrowed_blob(std::string_view bytes)
      : blob(vips_blob_new(nullptr, bytes.data(), bytes.size())) {}
  ~borrowed_blob() { vips_area_unref(VIPS_AREA(blob)); }
  borrowed_blob(const borrowed_blob&) = delete;
  borrowed_blob& operator=(const borrowed_blob&) = delete;
  VipsBlob* blob;
};

/// The picture's header, read by the one loader its signature names (no pixels decoded yet).
vips::VImage header_of(image_format format, VipsBlob* blob) {
  auto options = [] {
    return vips::VImage::option()
        ->set("access", VIPS_ACCESS_SEQUENTIAL)
        ->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
  };
  switch (format) {
    case image_format::jpeg:
      return vips::VImage::jpegload_buffer(blob, options());
    case image_format::png:
      return vips::VImage::pngload_buffer(blob, options());
    case image_format::webp:
      return vips::VImage::webpload_buffer(blob, options());
    case image_format::heif:
      return vips::VImage::heifload_buffer(blob, options());
    case image_format::unknown:
      break;
  }
  throw api_exception(errors::unsupported_media_type(
      "the picture must be JPEG, PNG or WebP" + std::string(heif_readable ? " (or HEIC)" : "")));
}

std::string take_blob(VipsBlob* blob) {
  std::size_t size = 0;
  auto* data = static_cast<const char*>(vips_blob_get(blob, &size));
  std::string bytes(data, size);
  vips_area_unref(VIPS_AREA(blob));
  return bytes;
}

/// 8-bit sRGB (with its alpha, if any), whatever the loader produced (grey, CMYK, 16-bit).
vips::VImage to_srgb(vips::VImage image) {
  if (image.interpretation() != VIPS_INTERPRETATION_sRGB || image.format() != VIPS_FORMAT_UCHAR)
    image = image.colourspace(VIPS_INTERPRETATION_sRGB);
  if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
  return image;
}

vips::VImage fit_within(const vips::VImage& image, int side) {
  if (image.width() <= side && image.height() <= side) return image;
  return image.thumbnail_image(
      side, vips::VImage::option()->set("height", side)->set("size", VIPS_SIZE_DOWN));
}

/// `image` with no metadata at all: EXIF (with GPS), XMP, IPTC, ICC, comments, orientation.
/// The savers' `strip` option is asked too; this also keeps the fields out of any EXIF block
/// a saver makes up (see without_webp_metadata).
vips::VImage without_metadata(const vips::VImage& image) {
  static const std::set<std::string> basic = {"width",  "height",         "bands",    "format",
                                              "coding", "interpretation", "xoffset",  "yoffset",
                                              "xres",   "yres",           "filename", "mode"};
  auto copy = image.copy();
  gchar** fields = vips_image_get_fields(copy.get_image());
  for (auto** f = fields; *f; ++f)
    if (!basic.count(*f)) vips_image_remove(copy.get_image(), *f);
  g_strfreev(fields);
  return copy;
}

/// The WebP `bytes` without EXIF, XMP or ICC chunks. libvips 8.14's WebP saver writes an EXIF
/// chunk of its own (orientation and resolution) even with `strip` and no metadata on the image
/// (seen in the images test); libwebpmux takes it out and rewrites the container's flags.
std::string without_webp_metadata(std::string bytes) {
  WebPData in{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPMux* mux = WebPMuxCreate(&in, 0);
  if (!mux) throw std::runtime_error("the WebP rendition could not be read back");
  for (auto chunk : {"EXIF", "XMP ", "ICCP"}) WebPMuxDeleteChunk(mux, chunk);
  WebPData out;
  WebPDataInit(&out);
  auto status = WebPMuxAssemble(mux, &out);
  WebPMuxDelete(mux);
  if (status != WEBP_MUX_OK) throw std::runtime_error("the WebP rendition could not be rewritten");
  std::string clean(reinterpret_cast<const char*>(out.bytes), out.size);
  WebPDataClear(&out);
  return clean;
}

rendition encode(const char* name, const vips::VImage& picture, const pipeline_limits& limits) {
  auto image = without_metadata(picture);
  rendition r;
  r.name = name;
  r.width = image.width();
  r.height = image.height();
  // `strip`: no EXIF, XMP, IPTC or ICC profile survives (libvips 8.14; 8.15 calls it `keep`).
  r.webp = without_webp_metadata(take_blob(image.webpsave_buffer(
      vips::VImage::option()->set("strip", true)->set("Q", limits.webp_quality))));
  auto opaque = image.has_alpha() ? image.flatten(vips::VImage::option()->set(
                                        "background", std::vector<double>{255.0, 255.0, 255.0}))
                                  : image;
  r.jpeg = take_blob(opaque.jpegsave_buffer(vips::VImage::option()
                                                ->set("strip", true)
                                                ->set("Q", limits.jpeg_quality)
                                                ->set("optimize_coding", true)));
  return r;
}

std::string digest_of(const vips::VImage& image) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  int64_t shape[3] = {image.width(), image.height(), image.bands()};
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(shape), sizeof shape);
  std::size_t size = 0;
  void* pixels = vips_image_write_to_memory(image.get_image(), &size);
  if (!pixels) throw vips::VError();
  crypto_hash_sha256_update(&state, static_cast<const unsigned char*>(pixels), size);
  g_free(pixels);
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, out);
  static const char hex[] = "0123456789abcdef";
  std::string text;
  for (auto b : out) {
    text += hex[b >> 4];
    text += hex[b & 15];
  }
  return text;
}

}  // namespace

image_format sniff_format(std::string_view b) {
  if (starts_with(b, "\xFF\xD8\xFF")) return image_format::jpeg;
  if (starts_with(b, "\x89PNG\r\n\x1A\n")) return image_format::png;
  if (b.size() >= 12 && starts_with(b, "RIFF") && b.compare(8, 4, "WEBP") == 0)
    return image_format::webp;
  // ISO base media file: a `ftyp` box whose major brand is one of HEIF's still-image brands.
  if (b.size() >= 12 && b.compare(4, 4, "ftyp") == 0) {
    auto brand = b.substr(8, 4);
    for (auto heif : {"heic", "heix", "heim", "heis", "mif1"})
      if (brand == heif) return heif_readable ? image_format::heif : image_format::unknown;
  }
  return image_format::unknown;
}

bool start_image_library(const char* program, int threads) {
  static bool started = [&] {
    if (VIPS_INIT(program)) throw std::runtime_error("libvips did not start");
    vips_concurrency_set(threads < 1 ? 1 : threads);
    vips_cache_set_max(0);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (auto allowed : {"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
                         "VipsForeignLoadHeif"})
      vips_operation_block_set(allowed, FALSE);
    heif_readable = vips_type_find("VipsOperation", "heifload_buffer") != 0;
    return true;
  }();
  return started && heif_readable;
}

bool heif_supported() { return heif_readable; }

processed_picture process_picture(std::string_view bytes, const pipeline_limits& limits) {
  auto format = sniff_format(bytes);
  if (format == image_format::unknown)
    throw api_exception(errors::unsupported_media_type(
        "the picture must be JPEG, PNG or WebP" + std::string(heif_readable ? " (or HEIC)" : "")));
  borrowed_blob blob(bytes);
  try {
    auto header = header_of(format, blob.blob);
    uint64_t pixels = uint64_t(header.width()) * uint64_t(header.height());
    if (pixels > limits.max_pixels)
      throw api_exception(
          errors::invalid_image("the picture has " + std::to_string(pixels) + " pixels; at most " +
                                std::to_string(limits.max_pixels) + " are accepted"));
    // thumbnail_buffer shrinks while decoding where the format allows (JPEG, WebP) and
    // streams the rest; the blocked loaders leave it only the one the signature named.
    auto large_side = rendition_sizes[0].longest_side;
    auto large = vips::VImage::thumbnail_buffer(blob.blob, large_side,
                                                vips::VImage::option()
                                                    ->set("height", large_side)
                                                    ->set("size", VIPS_SIZE_DOWN)
                                                    // thumbnail_buffer's own fail_on does not
                                                    // reach the loader in 8.14; this does.
                                                    ->set("option_string", "fail_on=truncated"));
    large = to_srgb(large).copy_memory();
    processed_picture out;
    out.digest = digest_of(large);
    for (auto& size : rendition_sizes)
      out.renditions.push_back(encode(size.name, fit_within(large, size.longest_side), limits));
    return out;
  } catch (const vips::VError& e) {
    std::string why = e.what();
    vips_error_clear();
    auto end = why.find('\n');
    throw api_exception(errors::invalid_image("the picture could not be decoded: " +
                                              why.substr(0, end == std::string::npos ? 200 : end)));
  }
}

image_memory image_library_memory() {
  return {vips_tracked_get_mem(), vips_tracked_get_mem_highwater()};
}

}  // namespace wassally::media
