#pragma once
// The browser files the server ships (`web_dir`, default the checkout's web/): the API docs
// page with Swagger UI's bundle, and the staff console (web/console/ plus Chart.js), both from
// npm packages pinned in web/package.json and installed by scripts/setup. Read once at start
// and served from memory; only the files loaded here are ever served.

#include <map>
#include <string>

namespace wassally::http {

class web_assets {
 public:
  struct file {
    std::string bytes;
    std::string content_type;
  };
  enum class site { docs, console };
  /// Loads every known file under `dir`; what is missing is listed in missing().
  explicit web_assets(const std::string& dir);
  /// The file of `s` served as `name` (e.g. "swagger-ui-bundle.js", "board.js"), or nullptr.
  const file* find(site s, const std::string& name) const;
  /// Files that could not be read (empty: all there).
  const std::string& missing() const { return missing_; }

 private:
  void load(site s, const std::string& name, const std::string& path);
  std::map<std::pair<site, std::string>, file> files_;
  std::string missing_;
};

}  // namespace wassally::http
