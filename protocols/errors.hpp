#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "protocols/fields.hpp"

namespace caf {
class error;
}

namespace wassally {

/// An answer that is not a success: HTTP status, the stable API.md `code`, a message for
/// people, per-field validation messages, and extra integer members (e.g. `product_id`).
struct api_error {
  int status = 500;
  std::string code = "internal";
  std::string message;
  std::map<std::string, std::string> fields;
  std::map<std::string, int64_t> extra;
  /// Extra string members, e.g. a timeout's `outcome` ("not_written" or "unknown").
  std::map<std::string, std::string> extra_text;

  WASSALLY_FIELDS(api_error, status, code, message, fields, extra, extra_text)
};

/// Thrown by code that runs inside a database command or a handler to answer with `error`.
struct api_exception : std::runtime_error {
  explicit api_exception(api_error e) : std::runtime_error(e.message), error(std::move(e)) {}
  api_error error;
};

namespace errors {
api_error validation(std::map<std::string, std::string> fields);
api_error validation(const std::string& field, const std::string& what);
api_error malformed_json(const std::string& what);
/// 400 for bytes that are not an HTTP/1.1 request we accept (request line, headers, framing).
api_error malformed_request(const std::string& what);
api_error unauthenticated(const std::string& what = "authentication required");
api_error invalid_credentials();
api_error forbidden(const std::string& what = "not allowed");
api_error not_found(const std::string& what = "not found");
api_error method_not_allowed();
api_error conflict(const std::string& code, const std::string& what, const std::string& field = {});
api_error payload_too_large(std::size_t limit);
api_error unsupported_media_type();
api_error unsupported_media_type(const std::string& what);
/// 400 invalid_image: an upload that does not decode, or has more pixels than accepted.
api_error invalid_image(const std::string& what);
api_error rate_limited(int retry_after_s);
api_error unavailable(const std::string& what = "the database is unavailable");
/// Cluster mode: this node does not serve the entity's shard (now). `owner_node` /
/// `owner_url`: who holds its lease, when known. 503 with Retry-After: 1.
api_error not_owner(int32_t shard, const std::string& owner_node = {},
                    const std::string& owner_url = {});
/// 504: `outcome` says whether anything may have been written (API.md conventions):
/// "not_written" (the command never reached the database) or "unknown" (it may still commit).
api_error timeout(const std::string& outcome = "unknown");
/// Whether `e` says a change may have been written: a 504 whose outcome is not "not_written".
bool outcome_unknown(const api_error& e);
/// 409 request_in_progress: the first request with this Idempotency-Key is still in flight.
api_error request_in_progress(int retry_after_s = 1);
api_error internal(const std::string& what = "internal error");
}  // namespace errors

/// api_error travels between actors inside a caf::error (category "wassally").
caf::error to_caf_error(api_error e);
/// Any caf::error back to an api_error: ours unwrap; timeouts are 504, dead actors 503.
api_error from_caf_error(const caf::error& e);

}  // namespace wassally
