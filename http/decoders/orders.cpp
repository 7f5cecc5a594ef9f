#include "http/decoders/orders.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "http/decoders/fields.hpp"
#include "http/json_body.hpp"
#include "protocols/clock.hpp"

namespace wassally::http {
namespace {

void require_quantity(field_reader& f, const nlohmann::json& body, quantity& out) {
  auto it = body.find("quantity");
  if (it == body.end() || it->is_null()) {
    f.fail("quantity", "this field is required");
    return;
  }
  if (auto q = fields::read_quantity(f, body, "quantity", true)) out = *q;
}

}  // namespace

add_cart_item decode_add_cart_item(const nlohmann::json& body) {
  field_reader f(body);
  add_cart_item r;
  r.product_id = f.integer("product_id", true, 1, INT64_MAX).value_or(0);
  require_quantity(f, body, r.amount);
  f.finish();
  return r;
}

set_cart_item decode_set_cart_item(const nlohmann::json& body) {
  field_reader f(body);
  set_cart_item r;
  require_quantity(f, body, r.amount);
  f.finish();
  return r;
}

place_order decode_place_order(const nlohmann::json& body) {
  field_reader f(body);
  place_order r;
  fields::read_receiver(f, body, r);
  auto items = body.find("items");
  if (items == body.end() || items->is_null()) {
    r.from_cart = true;
  } else if (!items->is_array()) {
    f.fail("items", "must be an array of {product_id, quantity}");
  } else if (items->empty()) {
    f.fail("items", "must hold at least one item");
  } else if (items->size() > 100) {
    f.fail("items", "at most 100 items");
  } else {
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto& item = (*items)[i];
      auto prefix = "items." + std::to_string(i) + ".";
      if (!item.is_object()) {
        f.fail("items." + std::to_string(i), "must be an object with product_id and quantity");
        continue;
      }
      field_reader fi(item, prefix);
      order_line_request line;
      line.product_id = fi.integer("product_id", true, 1, INT64_MAX).value_or(0);
      require_quantity(fi, item, line.amount);
      for (auto& [k, v] : fi.errors()) f.fail(k, v);
      r.lines.push_back(line);
    }
  }
  f.finish();
  return r;
}

order_action decode_cancel_order(const std::string& body) {
  order_action a;
  a.action = order_action_kind::cancel;
  // No body at all cancels without a note, as before notes existed.
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return a;
  auto json = parse_object(body);
  field_reader f(json);
  // At most max_cancel_note characters: code points, counted (the body is valid UTF-8).
  auto note = f.optional_string("note", std::string::npos);
  auto characters = std::count_if(note.begin(), note.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  if (static_cast<std::size_t>(characters) > max_cancel_note)
    f.fail("note", "must be at most " + std::to_string(max_cancel_note) + " characters");
  else
    a.note = std::move(note);
  f.finish();
  return a;
}

order_query decode_order_query(const std::map<std::string, std::string>& query) {
  nlohmann::json none = nlohmann::json::object();
  field_reader f(none);
  order_query q;
  if (auto it = query.find("status"); it != query.end() && !it->second.empty()) {
    static const std::vector<std::string> statuses = {"pending", "assigned", "picked_up",
                                                      "delivered", "cancelled"};
    if (std::find(statuses.begin(), statuses.end(), it->second) == statuses.end())
      f.fail("status", "one of pending, assigned, picked_up, delivered, cancelled");
    else
      q.status = it->second;
  }
  q.shop_id = fields::positive_param(query, "shop_id", f).value_or(0);
  q.crew_id = fields::positive_param(query, "crew_id", f).value_or(0);
  for (auto [name, out] : {std::pair<const char*, std::string*>{"from", &q.from},
                           std::pair<const char*, std::string*>{"to", &q.to}}) {
    auto it = query.find(name);
    if (it == query.end() || it->second.empty()) continue;
    // An unencoded '+' of an offset arrives as a space ("...:00 02:00"): read it as the '+'.
    auto text = it->second;
    if (text.size() > 19 && (text[text.size() - 5] == ' ' || text[text.size() - 6] == ' ')) {
      auto space = text.find(' ', 19);
      if (space != std::string::npos) text[space] = '+';
    }
    auto t = service_clock::parse_iso(text);
    if (!t)
      f.fail(name, fields::timestamp_format);
    else
      *out = service_clock::format_iso(*t);
  }
  f.finish();
  return q;
}

}  // namespace wassally::http
