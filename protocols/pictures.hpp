#pragma once
// How a picture is held in an `image` field (records, messages and the `image` columns of
// shops, shop_categories, products and offers): empty for none, `media:<digest>` for a picture
// uploaded to this server (its renditions are the media keys `<digest>-large`, `-medium`,
// `-thumb`, see media/media_store.hpp), or an external http(s) URL set through POST/PATCH
// (clients can only set those: decoders accept nothing else, so `media:` values are always the
// server's own).

#include <optional>
#include <string>
#include <vector>

#include "protocols/fields.hpp"

namespace wassally {

/// From persistence: the digests of every uploaded picture a row still refers to.
struct picture_references {
  std::vector<std::string> digests;
  WASSALLY_FIELDS(picture_references, digests)
};

}  // namespace wassally

namespace wassally::pictures {

inline constexpr const char* uploaded_prefix = "media:";

/// The `image` value of an uploaded picture.
inline std::string uploaded(const std::string& digest) { return uploaded_prefix + digest; }

/// The digest of an uploaded picture's `image` value; nullopt for none or an external URL.
inline std::optional<std::string> uploaded_digest(const std::string& image) {
  if (image.rfind(uploaded_prefix, 0) != 0) return std::nullopt;
  return image.substr(6);
}

}  // namespace wassally::pictures
