#include "http/cors.hpp"

namespace wassally::http {

cors_policy cors_policy::parse(const std::string& setting, int max_age_s) {
  cors_policy p;
  p.max_age_s = max_age_s;
  std::string item;
  for (char c : setting + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      while (!item.empty() && item.back() == '/') item.pop_back();
      if (!item.empty()) p.origins.insert(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return p;
}

bool cors_policy::allows(const std::string& origin) const {
  return !origin.empty() && (origins.count("*") || origins.count(origin));
}

std::map<std::string, std::string> cors_policy::answer_headers(const std::string& origin) const {
  std::map<std::string, std::string> h;
  if (!enabled()) return h;
  bool any = origins.count("*") > 0;
  if (!any) h["Vary"] = "Origin";
  if (allows(origin)) {
    h["Access-Control-Allow-Origin"] = any ? "*" : origin;
    h["Access-Control-Expose-Headers"] = "Retry-After, Location, ETag";
  }
  return h;
}

std::map<std::string, std::string> cors_policy::preflight_headers(
    const std::string& origin, const std::vector<std::string>& methods) const {
  std::string listed;
  for (auto& m : methods) listed += (listed.empty() ? "" : ", ") + m;
  listed += (listed.empty() ? "" : ", ") + std::string("OPTIONS");
  auto h = answer_headers(origin);
  h["Allow"] = listed;
  if (allows(origin)) {
    h["Access-Control-Allow-Methods"] = listed;
    h["Access-Control-Allow-Headers"] =
        "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";
    h["Access-Control-Max-Age"] = std::to_string(max_age_s);
  }
  return h;
}

void merge_headers(std::map<std::string, std::string>& headers,
                   const std::map<std::string, std::string>& more) {
  for (auto& [name, value] : more) {
    auto it = headers.find(name);
    if (it != headers.end() && name == "Vary" && it->second != value)
      it->second += ", " + value;
    else if (it == headers.end())
      headers[name] = value;
  }
}

}  // namespace wassally::http
