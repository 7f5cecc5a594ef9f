#include "http/router.hpp"

#include <algorithm>

#include "protocols/accounts.hpp"

namespace wassally::http {

const role_set any_role = {roles::customer, roles::shop_owner, roles::delivery_crew, roles::staff};
const role_set staff_only = {roles::staff};

namespace {
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}
}  // namespace

void router::add(std::string method, std::string pattern, role_set roles,
                 std::function<void(request_context&)> handle, std::string summary) {
  compiled_.push_back({split_path(pattern)});
  routes_.push_back({std::move(method), std::move(pattern), std::move(roles), std::move(handle),
                     std::move(summary)});
}

void router::add_upload(std::string method, std::string pattern, role_set roles,
                        std::function<void(request_context&)> handle, std::string summary) {
  add(std::move(method), std::move(pattern), std::move(roles), std::move(handle),
      std::move(summary));
  routes_.back().picture_upload = true;
  upload_methods_.insert(routes_.back().method);
}

bool router::is_upload(const std::string& method, const std::string& path) const {
  // Asked for every request once its headers are in: most are GETs.
  if (!upload_methods_.count(method)) return false;
  std::map<std::string, std::string> params;
  api_error ignored;
  auto* r = match(method, path, params, ignored);
  return r && r->picture_upload;
}

std::vector<std::string> router::methods_for(const std::string& path) const {
  auto segments = split_path(path);
  if (segments.size() > 1 && segments.back().empty()) segments.pop_back();
  std::vector<std::string> methods;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& pat = compiled_[i].segments;
    if (pat.size() != segments.size()) continue;
    bool ok = true;
    for (std::size_t k = 0; k < pat.size() && ok; ++k)
      ok = (pat[k].size() > 2 && pat[k].front() == '{' && pat[k].back() == '}') ||
           pat[k] == segments[k];
    if (ok && std::find(methods.begin(), methods.end(), routes_[i].method) == methods.end())
      methods.push_back(routes_[i].method);
  }
  // In the usual order of Allow headers, whatever the registration order.
  static const std::vector<std::string> order = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  auto rank = [](const std::string& m) {
    return std::find(order.begin(), order.end(), m) - order.begin();
  };
  std::sort(methods.begin(), methods.end(),
            [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return methods;
}

const route* router::match(const std::string& method, const std::string& path,
                           std::map<std::string, std::string>& params, api_error& error) const {
  auto segments = split_path(path);
  // A trailing slash names the same resource.
  if (segments.size() > 1 && segments.back().empty()) segments.pop_back();
  bool path_known = false;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& pat = compiled_[i].segments;
    if (pat.size() != segments.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    for (std::size_t k = 0; k < pat.size() && ok; ++k) {
      if (pat[k].size() > 2 && pat[k].front() == '{' && pat[k].back() == '}')
        found[pat[k].substr(1, pat[k].size() - 2)] = segments[k];
      else
        ok = pat[k] == segments[k];
    }
    if (!ok) continue;
    path_known = true;
    if (routes_[i].method == method) {
      params = std::move(found);
      return &routes_[i];
    }
  }
  error = path_known ? errors::method_not_allowed() : errors::not_found("no such endpoint");
  return nullptr;
}

}  // namespace wassally::http
