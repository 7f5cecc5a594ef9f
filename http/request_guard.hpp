#pragma once
// Hostile input in front of Pistache's HTTP/1.1 parser. Pistache 0.0.5 reserves the whole
// announced Content-Length before reading a byte (an absurd value was a 500 `std::bad_alloc`,
// a large one a memory hog per connection), lets `std::stoull` throw out of a header (500), and
// answers its own parse errors in plain text. The guarded parser checks Content-Length before
// the body step runs and turns every parse failure into a refusal that the edge answers in the
// API.md error shape; after a refusal the rest of the connection's bytes are dropped unread
// (Pistache cannot close a connection from a handler; the client or the idle timeout does).

#include <cstddef>
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

/// Gives a new connection the guarded parser (in place of Pistache's own, which
/// Http::Handler::onConnection would install). `max_request_bytes` is the endpoint's
/// maxRequestSize; a body may announce at most `max_body_bytes`.
void install_guarded_parser(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                            std::size_t max_request_bytes, std::size_t max_body_bytes);

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
