#include "http/web_assets.hpp"

#include <fstream>
#include <sstream>
#include <utility>

namespace wassally::http {

web_assets::web_assets(const std::string& dir) {
  const std::string swagger = dir + "/node_modules/swagger-ui-dist/";
  const std::pair<const char*, std::pair<std::string, const char*>> known[] = {
      {"docs.html", {dir + "/docs.html", "text/html; charset=utf-8"}},
      {"docs.js", {dir + "/docs.js", "text/javascript; charset=utf-8"}},
      {"swagger-ui.css", {swagger + "swagger-ui.css", "text/css; charset=utf-8"}},
      {"swagger-ui-bundle.js",
       {swagger + "swagger-ui-bundle.js", "text/javascript; charset=utf-8"}},
      {"favicon-32x32.png", {swagger + "favicon-32x32.png", "image/png"}},
  };
  for (auto& [name, where] : known) {
    std::ifstream in(where.first, std::ios::binary);
    if (!in) {
      missing_ += (missing_.empty() ? "" : ", ") + where.first;
      continue;
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    files_[name] = {bytes.str(), where.second};
  }
}

const web_assets::file* web_assets::find(const std::string& name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace wassally::http
