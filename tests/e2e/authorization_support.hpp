#pragma once
// What the security suites (authorization_matrix, tokens_hostile) read of an answer: its status,
// and whether its body is the API.md error shape with a given code.

#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace wassally::test {

struct answer {
  int status = 0;
  std::string body;
};

/// The API.md error shape with the given code: {"error": {"code", "message"}}.
inline bool error_shaped(const answer& a, const std::string& code) {
  try {
    auto j = nlohmann::json::parse(a.body);
    return j.is_object() && j["error"].is_object() && j["error"]["code"] == code &&
           j["error"]["message"].is_string() && !j["error"].contains("fields");
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace wassally::test
