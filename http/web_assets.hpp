#pragma once
// The browser files the server ships (`web_dir`, default the checkout's web/): the API docs
// page and Swagger UI's bundle from npm (web/package.json, installed by scripts/setup). Read
// once at start and served from memory; only the files named here are ever served.

#include <map>
#include <string>

namespace wassally::http {

class web_assets {
 public:
  struct file {
    std::string bytes;
    std::string content_type;
  };
  /// Loads every known file under `dir`; what is missing is listed in missing().
  explicit web_assets(const std::string& dir);
  /// The file served as `name` (e.g. "swagger-ui-bundle.js"), or nullptr.
  const file* find(const std::string& name) const;
  /// Files that could not be read (empty: all there).
  const std::string& missing() const { return missing_; }

 private:
  std::map<std::string, file> files_;
  std::string missing_;
};

}  // namespace wassally::http
