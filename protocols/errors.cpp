#include "protocols/errors.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace wassally {
namespace {
api_error make(int status, std::string code, std::string message) {
  api_error e;
  e.status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}
constexpr auto category = caf::atom("wassally");
}  // namespace

namespace errors {
api_error validation(std::map<std::string, std::string> fields) {
  auto e = make(400, "validation_error", "the request has invalid fields");
  e.fields = std::move(fields);
  return e;
}
api_error validation(const std::string& field, const std::string& what) {
  return validation(std::map<std::string, std::string>{{field, what}});
}
api_error malformed_json(const std::string& what) { return make(400, "malformed_json", what); }
api_error malformed_request(const std::string& what) {
  return make(400, "malformed_request", what);
}
api_error unauthenticated(const std::string& what) { return make(401, "unauthenticated", what); }
api_error invalid_credentials() {
  return make(401, "invalid_credentials", "wrong username or password");
}
api_error forbidden(const std::string& what) { return make(403, "forbidden", what); }
api_error not_found(const std::string& what) { return make(404, "not_found", what); }
api_error method_not_allowed() {
  return make(405, "method_not_allowed", "this path does not take that method");
}
api_error conflict(const std::string& code, const std::string& what, const std::string& field) {
  auto e = make(409, code, what);
  if (!field.empty()) e.fields[field] = what;
  return e;
}
api_error payload_too_large(std::size_t limit) {
  return make(413, "payload_too_large",
              "the request body is larger than " + std::to_string(limit) + " bytes");
}
api_error unsupported_media_type() {
  return make(415, "unsupported_media_type", "send the body as application/json");
}

api_error unsupported_media_type(const std::string& what) {
  return make(415, "unsupported_media_type", what);
}

api_error invalid_image(const std::string& what) { return make(400, "invalid_image", what); }
api_error rate_limited(int retry_after_s) {
  auto e = make(429, "rate_limited", "too many attempts; retry later");
  e.extra["retry_after"] = retry_after_s;
  return e;
}
api_error unavailable(const std::string& what) { return make(503, "unavailable", what); }
api_error not_owner(int32_t shard, const std::string& owner_node, const std::string& owner_url) {
  auto e = make(503, "not_owner",
                owner_node.empty()
                    ? "this node does not serve shard " + std::to_string(shard) +
                          " now (its lease is being moved); retry"
                    : "shard " + std::to_string(shard) + " is served by node " + owner_node +
                          (owner_url.empty() ? std::string() : " at " + owner_url));
  e.extra["shard"] = shard;
  e.extra["retry_after"] = 1;
  if (!owner_node.empty()) e.extra_text["owner_node"] = owner_node;
  if (!owner_url.empty()) e.extra_text["owner_url"] = owner_url;
  return e;
}
api_error timeout(const std::string& outcome) {
  auto e = make(504, "timeout",
                outcome == "not_written"
                    ? "the request took too long; nothing was written"
                    : "the request took too long; the change may still be committed: read it, or "
                      "retry with the same Idempotency-Key");
  e.extra_text["outcome"] = outcome;
  return e;
}
bool outcome_unknown(const api_error& e) {
  if (e.code != "timeout") return false;
  auto it = e.extra_text.find("outcome");
  return it == e.extra_text.end() || it->second != "not_written";
}
api_error request_in_progress(int retry_after_s) {
  auto e = make(409, "request_in_progress",
                "a request with this Idempotency-Key is still in flight; retry later");
  e.extra["retry_after"] = retry_after_s;
  return e;
}
api_error internal(const std::string& what) { return make(500, "internal", what); }
}  // namespace errors

caf::error to_caf_error(api_error e) {
  return caf::error(static_cast<uint8_t>(1), category, caf::make_message(std::move(e)));
}

api_error from_caf_error(const caf::error& e) {
  if (e.category() == category && e.context().match_elements<api_error>())
    return e.context().get_as<api_error>(0);
  if (e.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(e.code());
    switch (code) {
      case caf::sec::request_timeout:
        return errors::timeout();
      case caf::sec::request_receiver_down:
        return errors::unavailable("a service actor is down");
      default:
        break;
    }
  }
  return errors::internal("unexpected actor error");
}

}  // namespace wassally
