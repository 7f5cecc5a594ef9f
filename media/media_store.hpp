#pragma once
// Where renditions live: one key per picture and size (`<sha256>-<size>`, see
// image_pipeline.hpp), a WebP and a JPEG file behind each. The interface is what the server
// needs of any store (the cluster will need one shared between nodes); directory_store keeps
// the files under one directory, written so that a crash or a full disk never leaves a
// half-written file under its final name.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/image_pipeline.hpp"

namespace wassally::media {

/// The two encodings of every rendition.
enum class encoding { webp, jpeg };

/// Whether `key` has the shape `<64 lower-case hex>-<large|medium|thumb>`.
bool valid_media_key(std::string_view key);
/// `<digest>-<name>`.
std::string media_key(const std::string& digest, const std::string& rendition_name);

class media_store {
 public:
  struct entry {
    std::string key;
    int64_t modified_unix_s = 0;  // the older of its files
  };
  virtual ~media_store() = default;
  /// Stores every rendition of `p` durably (both encodings) before returning. Storing a key
  /// again refreshes its modification time (the sweep's grace period counts from it). Throws
  /// api_exception 503 unavailable when the store cannot take it (disk full, not writable):
  /// nothing half-written is left under a final name.
  virtual void put(const processed_picture& p) = 0;
  /// The bytes of one key in one encoding; nullptr when there is no such key.
  virtual std::shared_ptr<const std::string> read(const std::string& key, encoding e) const = 0;
  /// Every key held, with its age.
  virtual std::vector<entry> list() const = 0;
  /// Removes both files of `key` (absent files are fine).
  virtual void remove(const std::string& key) = 0;
  /// Removes what writes interrupted by a crash left behind (temporary files) that were last
  /// modified before `before_unix_s`; returns how many.
  virtual std::size_t remove_abandoned_writes(int64_t before_unix_s) = 0;
};

/// Files under `root`: `<root>/<first two hex digits>/<key>.webp` and `.jpg`. Each is written
/// to a temporary name in the same directory, fsynced, renamed over the final name and the
/// directory fsynced.
class directory_store : public media_store {
 public:
  explicit directory_store(std::string root);
  void put(const processed_picture& p) override;
  std::shared_ptr<const std::string> read(const std::string& key, encoding e) const override;
  std::vector<entry> list() const override;
  void remove(const std::string& key) override;
  std::size_t remove_abandoned_writes(int64_t before_unix_s) override;
  const std::string& root() const { return root_; }

 private:
  std::string path_of(const std::string& key, encoding e) const;
  std::string root_;
};

}  // namespace wassally::media
