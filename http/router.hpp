#pragma once
// The route table: method and path template → roles and handler; matching gives 404 / 405.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "http/request_context.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {

/// The roles a route admits; empty means anyone, authenticated or not.
using role_set = std::set<std::string>;

/// Roles shorthand.
extern const role_set any_role;
extern const role_set staff_only;

struct route {
  std::string method;
  std::string pattern;  // "/api/v1/orders/{id}"
  role_set roles;
  std::function<void(request_context&)> handle;
  std::string summary;
  /// A picture upload (API.md "Images"): its body may be up to max_image_bytes (plus a
  /// multipart envelope) of any content type, and has upload_timeout_s to arrive.
  bool picture_upload = false;
};

/// The route table: every handler registers here; matching gives 404 / 405.
class router {
 public:
  void add(std::string method, std::string pattern, role_set roles,
           std::function<void(request_context&)> handle, std::string summary = {});
  /// add() for a picture upload route (route::picture_upload).
  void add_upload(std::string method, std::string pattern, role_set roles,
                  std::function<void(request_context&)> handle, std::string summary);
  /// Whether (method, path) is a picture upload route: what the request guard asks once the
  /// headers are in, to pick the body limit and time limit.
  bool is_upload(const std::string& method, const std::string& path) const;
  /// The methods of the routes whose pattern matches `path` (empty: no route has the path),
  /// for OPTIONS and preflights.
  std::vector<std::string> methods_for(const std::string& path) const;
  /// The route for (method, path) with path parameters, or an error: 404 when no pattern
  /// matches the path, 405 when one does with another method.
  const route* match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>& params, api_error& error) const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  struct compiled {
    std::vector<std::string> segments;
  };
  std::vector<route> routes_;
  std::vector<compiled> compiled_;
  /// Methods some upload route has: is_upload() answers every other request without matching.
  std::set<std::string> upload_methods_;
};

}  // namespace wassally::http
