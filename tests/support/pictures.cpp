#include "tests/support/pictures.hpp"

#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace wassally::test {

void start_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("wassally-tests")) throw std::runtime_error("libvips did not start");
    vips_cache_set_max(0);
  });
}

vips::VImage two_halves(int w, int h, std::vector<double> left, std::vector<double> right) {
  start_vips();
  auto l = vips::VImage::black(w / 2, h).new_from_image(left);
  auto r = vips::VImage::black(w - w / 2, h).new_from_image(right);
  return l.join(r, VIPS_DIRECTION_HORIZONTAL)
      .cast(VIPS_FORMAT_UCHAR)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

namespace {
void u16(std::string& s, uint16_t v) {
  s += char(v & 0xff);
  s += char(v >> 8);
}
void u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xff);
}
void entry(std::string& s, uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  u16(s, tag);
  u16(s, type);
  u32(s, count);
  u32(s, value);
}

std::string take(VipsBlob* blob) {
  std::size_t size = 0;
  auto* data = static_cast<const char*>(vips_blob_get(blob, &size));
  std::string out(data, size);
  vips_area_unref(VIPS_AREA(blob));
  return out;
}
}  // namespace

std::string phone_exif(int orientation) {
  // TIFF offsets count from the "II" header: IFD0 at 8 (2 entries), the GPS IFD at 38
  // (2 entries), the latitude's three rationals at 68.
  std::string t = "II";
  u16(t, 42);
  u32(t, 8);
  u16(t, 2);
  entry(t, 0x0112, 3, 1, static_cast<uint32_t>(orientation));  // Orientation, SHORT
  entry(t, 0x8825, 4, 1, 38);                                  // GPS IFD pointer
  u32(t, 0);
  u16(t, 2);
  entry(t, 0x0001, 2, 2, 'N');  // GPSLatitudeRef "N\0"
  entry(t, 0x0002, 5, 3, 68);   // GPSLatitude, 3 RATIONALs
  u32(t, 0);
  for (uint32_t v : {30u, 1u, 2u, 1u, 0u, 1u}) u32(t, v);
  return std::string("Exif\0\0", 6) + t;
}

std::string jpeg_of(const vips::VImage& image, const std::string& exif, int orientation,
                    int quality) {
  auto copy = image.copy();
  if (!exif.empty())
    vips_image_set_blob_copy(copy.get_image(), "exif-data", exif.data(), exif.size());
  // jpegsave rewrites the EXIF block's orientation from this field (and drops it without).
  if (orientation) copy.set("orientation", orientation);
  return take(copy.jpegsave_buffer(vips::VImage::option()->set("Q", quality)));
}

std::string png_of(const vips::VImage& image) { return take(image.pngsave_buffer()); }

std::string webp_of(const vips::VImage& image) {
  return take(image.webpsave_buffer(vips::VImage::option()->set("Q", 90)));
}

vips::VImage decode(const std::string& bytes) {
  start_vips();
  return vips::VImage::new_from_buffer(bytes, "").copy_memory();
}

bool has_metadata(const vips::VImage& image) {
  for (auto field : {"exif-data", "xmp-data", "iptc-data", "icc-profile-data",
                     "exif-ifd3-GPSLatitude", "orientation"})
    if (image.get_typeof(field) != 0) return true;
  return false;
}

std::string multipart_body(const std::string& field, const std::string& filename,
                           const std::string& part_type, const std::string& bytes,
                           std::string& content_type) {
  const std::string boundary = "----wassally-test-7MA4YWxkTrZu0gW";
  content_type = "multipart/form-data; boundary=" + boundary;
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nfront\r\n" +
         "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field +
         "\"; filename=\"" + filename + "\"\r\nContent-Type: " + part_type + "\r\n\r\n" + bytes +
         "\r\n--" + boundary + "--\r\n";
}

}  // namespace wassally::test
