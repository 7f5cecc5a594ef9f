#pragma once
// The one pagination helper every list endpoint uses (API.md "Lists are paginated").

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace wassally::http {

struct page_request {
  int64_t page = 1;
  int64_t page_size = 20;
  int64_t offset() const { return (page - 1) * page_size; }
};

/// Percent-decoding for query values ('+' is a space); invalid escapes stay as they are.
std::string url_decode(const std::string& s);

/// A query parameter's value as the routes see it: percent-decoded, and 400 validation_error
/// naming the parameter when the result holds NUL or is not UTF-8 (no route can use such a
/// value, and PostgreSQL refuses it as text).
std::string decode_query_value(const std::string& name, const std::string& raw);

/// Reads `page` (>= 1) and `page_size` (>= 1, capped at 100); other values are 400
/// validation_error naming the parameter.
page_request parse_page(const std::map<std::string, std::string>& query);

/// `{count, next, previous, results}` with absolute links built from the Host header, the path
/// and the other query parameters.
nlohmann::json paginate(int64_t count, nlohmann::json results, const page_request& page,
                        const std::string& host, const std::string& path,
                        const std::map<std::string, std::string>& query);

}  // namespace wassally::http
