#include "http/request_context.hpp"

#include "protocols/errors.hpp"

namespace wassally::http {

int64_t request_context::id_param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end() || it->second.empty() || it->second.size() > 18)
    throw api_exception(errors::not_found());
  int64_t v = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') throw api_exception(errors::not_found());
    v = v * 10 + (c - '0');
  }
  if (v <= 0) throw api_exception(errors::not_found());
  return v;
}

}  // namespace wassally::http
