#pragma once
// Hostile input in front of Pistache's HTTP/1.1 parser. Pistache 0.0.5 reserves the whole
// announced Content-Length before reading a byte (an absurd value was a 500 `std::bad_alloc`,
// a large one a memory hog per connection), lets `std::stoull` throw out of a header (500), and
// answers its own parse errors in plain text. The guarded parser checks Content-Length before
// the body step runs and turns every parse failure into a refusal that the edge answers in the
// API.md error shape; after a refusal the rest of the connection's bytes are dropped unread
// (Pistache cannot close a connection from a handler; the client or the idle timeout does).

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocols/errors.hpp"

namespace Pistache::Tcp {
class Peer;
}
namespace Pistache::Http {
class ResponseWriter;
}

namespace wassally::http {

/// What a request's body may be, decided per route once its headers are in.
struct body_limits {
  std::size_t json_bytes = 1 << 20;    // every route but picture uploads
  std::size_t upload_bytes = 1 << 20;  // picture uploads (the picture and a multipart envelope)
  /// Whether (method, path) is a picture upload route.
  std::function<bool(const std::string& method, const std::string& path)> is_upload;
};

/// Gives a new connection the guarded parser (in place of Pistache's own, which
/// Http::Handler::onConnection would install). `max_request_bytes` is the endpoint's
/// maxRequestSize; a body may announce at most the limit of its route.
///
/// Time limits per route: Pistache 0.0.5 times a request out by the step its parser is in —
/// the request line and headers after the endpoint's header timeout, the body after its body
/// timeout, both counted from the request's first byte. The server sets the body timeout to
/// upload_timeout_s, and the guarded body step reports itself as a headers step for every route
/// but picture uploads: JSON routes keep header_timeout_s for the whole request, uploads get
/// upload_timeout_s (a slow phone uplink is not cut off).
void install_guarded_parser(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                            std::size_t max_request_bytes,
                            std::shared_ptr<const body_limits> limits);

/// What the edge does with a request Pistache reports as parsed.
struct guard_verdict {
  /// Answer nothing: the connection already had a refusal and its later bytes are dropped.
  bool drop = false;
  /// Answer this error (and nothing else on this connection).
  std::optional<api_error> refusal;
};

/// The verdict for the request being answered through `writer`.
guard_verdict check_parsed_request(const Pistache::Http::ResponseWriter& writer);

/// Content-Length as sent (Pistache keeps the raw value): digits only (optionally followed by
/// blanks), at most `max_body_bytes`. nullopt when acceptable, else 400 malformed_request or
/// 413 payload_too_large.
std::optional<api_error> check_content_length(const std::string& raw, std::size_t max_body_bytes);

}  // namespace wassally::http
