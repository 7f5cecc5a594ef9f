#pragma once
// What every route handler sees: the parsed request, the caller, the services, and a responder.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "http/json_body.hpp"
#include "http/responder.hpp"
#include "http/services.hpp"
#include "protocols/deadline.hpp"
#include "protocols/shops.hpp"
#include "security/tokens.hpp"

namespace wassally::http {

struct request_context {
  std::string method;
  std::string path;
  std::string route;  // the matched template
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> query;
  /// Headers the routes read by name (lower-case): idempotency-key, last-event-id, accept,
  /// if-none-match.
  std::map<std::string, std::string> headers;
  std::string host;  // Host header, for absolute pagination links
  /// Where picture URLs start: `public_base_url`, else `http://` + the Host header.
  std::string media_base;
  std::string body;
  /// A picture upload route's body (route::picture_upload), shared rather than copied, and its
  /// Content-Type header as sent (with parameters: a multipart boundary).
  std::shared_ptr<const std::string> upload;
  std::string content_type;
  std::string client_address;
  bool loopback = false;
  std::optional<security::principal> caller;
  const services* svc = nullptr;
  responder_ptr out;

  /// The body as a JSON object (400 malformed_json otherwise).
  nlohmann::json json_body() const { return parse_object(body); }
  /// A path parameter as a positive id; anything else is 404 (an id that cannot exist).
  int64_t id_param(const std::string& name) const;
  int64_t user_id() const { return caller ? caller->user_id : 0; }
};

/// The authenticated caller as actors see it (user 0, no role: anonymous), with the request's
/// deadline: work that has not started by then is not started at all.
inline caller caller_of(const request_context& ctx) {
  caller c = ctx.caller ? caller{ctx.caller->user_id, ctx.caller->role} : caller{};
  c.deadline_unix_ms = unix_ms_now() + ctx.svc->timeout.count();
  return c;
}

}  // namespace wassally::http
