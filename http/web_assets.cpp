#include "http/web_assets.hpp"

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <utility>

namespace wassally::http {

namespace {

const char* content_type_of(const std::string& name) {
  auto ends = [&](const char* suffix) {
    std::string s = suffix;
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  return nullptr;  // not served
}

}  // namespace

web_assets::web_assets(const std::string& dir) {
  const std::string swagger = dir + "/node_modules/swagger-ui-dist/";
  load(site::docs, "docs.html", dir + "/docs.html");
  load(site::docs, "docs.js", dir + "/docs.js");
  load(site::docs, "swagger-ui.css", swagger + "swagger-ui.css");
  load(site::docs, "swagger-ui-bundle.js", swagger + "swagger-ui-bundle.js");
  load(site::docs, "favicon-32x32.png", swagger + "favicon-32x32.png");

  // The console: every page, module and style sheet in web/console/ (flat, no subdirectories),
  // and Chart.js's self-contained bundle.
  const std::string console = dir + "/console";
  if (DIR* d = opendir(console.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name[0] != '.' && content_type_of(name)) load(site::console, name, console + "/" + name);
    }
    closedir(d);
  }
  if (!find(site::console, "index.html")) missing_ += (missing_.empty() ? "" : ", ") + console;
  load(site::console, "chart.umd.min.js", dir + "/node_modules/chart.js/dist/chart.umd.min.js");
}

void web_assets::load(site s, const std::string& name, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    missing_ += (missing_.empty() ? "" : ", ") + path;
    return;
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  const char* type = content_type_of(name);
  files_[{s, name}] = {bytes.str(), type ? type : "application/octet-stream"};
}

const web_assets::file* web_assets::find(site s, const std::string& name) const {
  auto it = files_.find({s, name});
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace wassally::http
