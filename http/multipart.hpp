#pragma once
// multipart/form-data request bodies (RFC 7578 over RFC 2046 §5.1). Written here because
// Pistache 0.0.5 has no multipart parser. The parts' bytes are views into the body: no copy.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wassally::http {

/// Limits of parse_multipart: a longer part header line or more parts is 400.
inline constexpr std::size_t multipart_max_header_line = 8 * 1024;
inline constexpr std::size_t multipart_max_parts = 16;

/// The boundary parameter of a Content-Type header value such as
/// `multipart/form-data; boundary=----abc` (quoted or not; case-insensitive parameter name).
/// nullopt when the media type is not multipart/form-data or the boundary is missing/invalid
/// (RFC 2046: 1..70 chars of DIGIT / ALPHA / '()+_,-./:=? and space, not ending in space).
std::optional<std::string> multipart_boundary(std::string_view content_type);

struct multipart_part {
  std::string name;          // from Content-Disposition: form-data; name="..."
  std::string filename;      // filename="..." if present
  std::string content_type;  // the part's Content-Type header value, lower-cased media type only
  std::string_view data;     // the part's bytes: a view INTO the body passed in (no copy)
};

/// Parses `body` with `boundary`. Throws api_exception(errors::malformed_request(...)) (400)
/// for a malformed body: invalid boundary, no delimiter, missing closing delimiter, missing
/// blank line after part headers, a header line over 8 KiB, more than 16 parts, a part without
/// `Content-Disposition: form-data; name=...`, duplicated Content-Disposition or Content-Type.
/// Preamble and epilogue are ignored; a body holding only the close delimiter (what browsers
/// send for an empty form) gives no parts. Part headers are case-insensitive; CRLF line ends
/// are required before delimiters, bare LF is tolerated in part headers. In quoted parameter
/// values a backslash escapes only `"` and `\` (browsers percent-encode instead and send
/// other backslashes as they are). `\r\n--boundary` followed by anything other than `--`,
/// whitespace or a line end is part data.
std::vector<multipart_part> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace wassally::http
