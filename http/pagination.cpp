#include "http/pagination.hpp"

#include "http/json_body.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {
namespace {

int64_t parse_positive(const std::map<std::string, std::string>& q, const std::string& name,
                       int64_t fallback) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return fallback;
  const auto& s = it->second;
  // At most nine digits: no value wraps or throws, and offset() stays far inside int64.
  if (s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos || std::stoll(s) < 1)
    throw api_exception(errors::validation(name, "must be a whole number from 1 to 999999999"));
  return std::stoll(s);
}

std::string encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string link(const std::string& host, const std::string& path,
                 const std::map<std::string, std::string>& query, int64_t page, int64_t page_size) {
  std::string url = "http://" + (host.empty() ? std::string("localhost") : host) + path + "?";
  for (auto& [k, v] : query)
    if (k != "page" && k != "page_size" && k != "access_token")
      url += encode(k) + "=" + encode(v) + "&";
  return url + "page=" + std::to_string(page) + "&page_size=" + std::to_string(page_size);
}

}  // namespace

std::string url_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string decode_query_value(const std::string& name, const std::string& raw) {
  auto value = url_decode(raw);
  if (value.find('\0') != std::string::npos)
    throw api_exception(errors::validation(name, "must not contain NUL characters"));
  if (!valid_utf8(value)) throw api_exception(errors::validation(name, "must be UTF-8 text"));
  return value;
}

page_request parse_page(const std::map<std::string, std::string>& query) {
  page_request p;
  p.page = parse_positive(query, "page", 1);
  p.page_size = std::min<int64_t>(parse_positive(query, "page_size", 20), 100);
  return p;
}

nlohmann::json paginate(int64_t count, nlohmann::json results, const page_request& page,
                        const std::string& host, const std::string& path,
                        const std::map<std::string, std::string>& query) {
  nlohmann::json out;
  out["count"] = count;
  out["next"] = page.offset() + page.page_size < count
                    ? nlohmann::json(link(host, path, query, page.page + 1, page.page_size))
                    : nlohmann::json(nullptr);
  auto last_page = std::max<int64_t>(1, (count + page.page_size - 1) / page.page_size);
  out["previous"] = page.page > 1
                        ? nlohmann::json(link(host, path, query, std::min(page.page - 1, last_page),
                                              page.page_size))
                        : nlohmann::json(nullptr);
  out["results"] = results.is_array() ? std::move(results) : nlohmann::json::array();
  return out;
}

}  // namespace wassally::http
