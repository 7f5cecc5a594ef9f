#pragma once
// Request decoders of API.md "Accounts": registration, login, token refresh. Every field is
// checked and every problem named (validation_error with `fields`); nothing here decides
// business outcomes.

#include <nlohmann/json.hpp>
#include <string>

#include "protocols/accounts.hpp"

namespace wassally::http {

register_user decode_register(const nlohmann::json& body, const std::string& role);
login_request decode_login(const nlohmann::json& body);
refresh_request decode_refresh(const nlohmann::json& body);

}  // namespace wassally::http
