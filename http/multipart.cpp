#include "http/multipart.hpp"

#include <utility>

#include "protocols/errors.hpp"

namespace wassally::http {
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw api_exception(errors::malformed_request("multipart body: " + what));
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool is_ws(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// RFC 7230 tchar.
bool is_tchar(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

/// RFC 2046 bchars, 1..70 of them, not ending in a space.
bool valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  for (char c : b)
    if (!is_alnum(c) && std::string_view("'()+_,-./:=? ").find(c) == std::string_view::npos)
      return false;
  return true;
}

/// `type/subtype` split off a header value's parameters; `rest` gets what follows it (empty
/// or starting with ';').
std::string_view main_value(std::string_view value, std::string_view& rest) {
  auto semi = value.find(';');
  rest = semi == std::string_view::npos ? std::string_view() : value.substr(semi);
  return trim(value.substr(0, semi));
}

/// `*( OWS ";" OWS name "=" ( token / quoted-string ) ) OWS` into lower-cased names and
/// values; false when the text does not have that shape. A trailing ';' is tolerated.
bool parse_parameters(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && is_ws(s[i])) ++i;
  };
  for (;;) {
    skip_ws();
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
    skip_ws();
    if (i == s.size()) return true;
    auto start = i;
    while (i < s.size() && is_tchar(s[i])) ++i;
    auto name = s.substr(start, i - start);
    skip_ws();
    if (name.empty() || i == s.size() || s[i] != '=') return false;
    ++i;
    skip_ws();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i == s.size()) return false;  // unterminated
        char c = s[i++];
        if (c == '"') break;
        if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) c = s[i++];
        value += c;
      }
    } else {
      start = i;
      while (i < s.size() && is_tchar(s[i])) ++i;
      if (i == start) return false;
      value.assign(s.substr(start, i - start));
    }
    out.emplace_back(lowered(name), std::move(value));
  }
}

/// The part's headers, as far as form-data needs them.
struct part_headers {
  bool has_disposition = false;
  bool has_type = false;
  multipart_part part;
};

void read_disposition(std::string_view value, multipart_part& part) {
  std::string_view rest;
  if (!iequals(main_value(value, rest), "form-data"))
    malformed("Content-Disposition is not form-data");
  std::vector<std::pair<std::string, std::string>> params;
  if (!parse_parameters(rest, params)) malformed("malformed Content-Disposition parameters");
  bool has_name = false, has_filename = false;
  for (auto& [name, v] : params) {
    if (name == "name") {
      if (has_name) malformed("Content-Disposition names the part twice");
      has_name = true;
      part.name = std::move(v);
    } else if (name == "filename") {
      if (has_filename) malformed("Content-Disposition has two filenames");
      has_filename = true;
      part.filename = std::move(v);
    }
  }
  if (!has_name) malformed("part without a name");
}

void read_content_type(std::string_view value, multipart_part& part) {
  std::string_view rest;
  auto type = main_value(value, rest);
  auto slash = type.find('/');
  if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
      !is_token(type.substr(slash + 1)))
    malformed("malformed part Content-Type");
  part.content_type = lowered(type);
}

/// Whether the byte at `at` (just past `--boundary`) makes it a delimiter: a close (`--`),
/// transport padding, a line end, or the end of the body (then truncated).
bool delimiter_ends_at(std::string_view body, std::size_t at) {
  if (at >= body.size()) return true;
  char c = body[at];
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return true;
  return c == '-' && (at + 1 == body.size() || body[at + 1] == '-');
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::string_view rest;
  if (!iequals(main_value(content_type, rest), "multipart/form-data")) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> params;
  if (!parse_parameters(rest, params)) return std::nullopt;
  std::optional<std::string> boundary;
  for (auto& [name, value] : params)
    if (name == "boundary") {
      if (boundary) return std::nullopt;  // two of them: ambiguous
      boundary = std::move(value);
    }
  if (!boundary || !valid_boundary(*boundary)) return std::nullopt;
  return boundary;
}

std::vector<multipart_part> parse_multipart(std::string_view body, std::string_view boundary) {
  if (!valid_boundary(boundary)) malformed("invalid boundary");
  // "\r\n--boundary": a delimiter; the first one may also start the body without the CRLF.
  std::string delimiter = "\r\n--";
  delimiter.append(boundary);
  const std::string_view dash_boundary = std::string_view(delimiter).substr(2);

  // Index just past the next delimiter at or after `from`, npos when there is none. The
  // search is string_view::find (linear in the body for a boundary of at most 74 bytes).
  auto next_delimiter = [&](std::size_t from) {
    for (;;) {
      auto at = body.find(delimiter, from);
      if (at == std::string_view::npos) return at;
      auto end = at + delimiter.size();
      if (delimiter_ends_at(body, end)) return end;
      from = at + 1;
    }
  };

  std::size_t pos;
  if (body.substr(0, dash_boundary.size()) == dash_boundary &&
      delimiter_ends_at(body, dash_boundary.size()))
    pos = dash_boundary.size();
  else
    pos = next_delimiter(0);
  if (pos == std::string_view::npos) malformed("no delimiter of the boundary");

  std::vector<multipart_part> parts;
  for (;;) {
    // Just past a delimiter: the close, or transport padding and a line end.
    if (body.substr(pos, 2) == "--") return parts;  // the epilogue is ignored
    while (pos < body.size() && is_ws(body[pos])) ++pos;
    if (body.substr(pos, 2) == "\r\n")
      pos += 2;
    else if (body.substr(pos, 1) == "\n")
      pos += 1;
    else
      malformed("truncated or garbage after a delimiter");
    if (parts.size() == multipart_max_parts)
      malformed("more than " + std::to_string(multipart_max_parts) + " parts");

    part_headers h;
    for (;;) {
      auto window = body.substr(pos, multipart_max_header_line + 2);
      auto nl = window.find('\n');
      if (nl == std::string_view::npos) {
        if (window.size() > multipart_max_header_line + 1) malformed("part header line too long");
        malformed("part headers end without a blank line");
      }
      auto line = window.substr(0, nl);
      pos += nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > multipart_max_header_line) malformed("part header line too long");
      if (line.empty()) break;
      if (line.substr(0, dash_boundary.size()) == dash_boundary)
        malformed("missing blank line after part headers");
      if (is_ws(line.front())) malformed("folded part header line");
      auto colon = line.find(':');
      if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
        malformed("malformed part header line");
      auto name = line.substr(0, colon);
      auto value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Disposition")) {
        if (h.has_disposition) malformed("two Content-Disposition headers in a part");
        h.has_disposition = true;
        read_disposition(value, h.part);
      } else if (iequals(name, "Content-Type")) {
        if (h.has_type) malformed("two Content-Type headers in a part");
        h.has_type = true;
        read_content_type(value, h.part);
      }
    }
    if (!h.has_disposition) malformed("part without Content-Disposition");

    auto end = next_delimiter(pos);
    if (end == std::string_view::npos) malformed("missing closing delimiter");
    auto data_end = end - delimiter.size();
    h.part.data = body.substr(pos, data_end - pos);
    parts.push_back(std::move(h.part));
    pos = end;
  }
}

}  // namespace wassally::http
