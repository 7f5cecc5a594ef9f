#pragma once
// Field readers the request decoders of several API areas share: a location, a phone number,
// money and quantities, positive and numeric query parameters, a delivery's receiver. Each
// records its problem on the field reader; none throws.

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/json_body.hpp"
#include "protocols/money.hpp"
#include "protocols/shops.hpp"

namespace wassally::http::fields {

/// Longest free text (descriptions, notes) and longest URL a body may carry.
inline constexpr std::size_t max_text = 5000;
inline constexpr std::size_t max_url = 2000;

/// What a timestamp field must look like, for its validation message.
inline constexpr const char* timestamp_format =
    "an ISO-8601 timestamp such as 2026-11-24T19:30:00Z or 2026-11-24T21:30:00.123+02:00";

/// `location` {address, latitude, longitude} into `out`, problems recorded on `parent`.
/// `partial`: nothing is required (a PATCH) and each field read is named in `set`.
void read_location(field_reader& parent, const nlohmann::json& body, geo_location& out,
                   bool partial, std::vector<std::string>* set);

/// The optional point `name` {latitude, longitude} as (latitude, longitude); nothing when absent
/// or null, problems recorded on `parent` (as name.latitude, name.longitude).
std::optional<std::pair<double, double>> read_point(field_reader& parent,
                                                    const nlohmann::json& body,
                                                    const std::string& name);

/// A phone number, if given, is an optional + and 7 to 15 digits.
void check_phone(field_reader& f, const std::string& field, const std::string& value);
/// An `image` set through JSON: empty, or an external http(s) URL (API.md "Images"; pictures
/// of this server are uploaded with PUT .../image).
void check_picture_url(field_reader& f, const std::string& field, const std::string& value);

/// The query parameter `name` as a whole number >= 1 (nullopt when absent or empty).
std::optional<int64_t> positive_param(const std::map<std::string, std::string>& q,
                                      const std::string& name, field_reader& f);

/// A finite decimal number spelled in full by `s` (nullopt otherwise).
std::optional<double> number_param(const std::string& s);

/// Money from a decimal string ("12.50"); records an error on the field otherwise.
/// `nullable`: JSON null is accepted, gives zero and sets `*is_null`.
std::optional<money> read_money(field_reader& f, const nlohmann::json& body, const char* name,
                                bool required, bool nullable, bool* is_null = nullptr);

/// A quantity from a JSON number or decimal string with at most three decimals, > 0 when
/// `positive`, >= 0 otherwise (nullopt when absent).
std::optional<quantity> read_quantity(field_reader& f, const nlohmann::json& body, const char* name,
                                      bool positive);

/// Who receives a delivery and where: receiver_name, receiver_phone, location, notes (an order
/// placement and a shop's delivery request alike).
template <class Request>
void read_receiver(field_reader& f, const nlohmann::json& body, Request& r) {
  r.receiver_name = f.required_string("receiver_name", 1, 200);
  r.receiver_phone = f.required_string("receiver_phone", 1, 16);
  check_phone(f, "receiver_phone", r.receiver_phone);
  read_location(f, body, r.location, false, nullptr);
  r.notes = f.optional_string("notes", max_text);
}

}  // namespace wassally::http::fields
