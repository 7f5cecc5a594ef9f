#include "http/decoders/catalog.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "http/decoders/fields.hpp"
#include "http/json_body.hpp"
#include "protocols/clock.hpp"

namespace wassally::http {

std::string decode_category_name(const nlohmann::json& body) {
  field_reader f(body);
  auto name = f.required_string("name", 1, 200);
  f.finish();
  return name;
}

save_product decode_save_product(const nlohmann::json& body, bool creating) {
  field_reader f(body);
  save_product s;
  auto& v = s.values;
  auto mark = [&](const char* field) { s.set.push_back(field); };
  if (auto x = f.string("name", creating, 1, 200)) {
    v.name = *x;
    mark("name");
  }
  if (auto x = f.string("description", false, 0, fields::max_text)) {
    v.description = *x;
    mark("description");
  }
  if (auto x = fields::read_money(f, body, "price", creating, false)) {
    v.price = *x;
    mark("price");
  }
  bool cost_null = false;
  if (auto x = fields::read_money(f, body, "cost_price", false, true, &cost_null)) {
    v.has_cost_price = !cost_null;
    v.cost_price = *x;
    mark("cost_price");
  }
  if (auto x = fields::read_quantity(f, body, "stock", false)) {
    v.stock = *x;
    mark("stock");
  }
  if (auto x = f.boolean("is_unlimited", false)) {
    v.is_unlimited = *x;
    mark("is_unlimited");
  }
  if (auto x = f.string("quantity_type", false, 1, 10)) {
    if (*x != "unit" && *x != "kg" && *x != "gram" && *x != "liter" && *x != "box")
      f.fail("quantity_type", "one of unit, kg, gram, liter, box");
    v.quantity_type = *x;
    mark("quantity_type");
  }
  if (auto x = fields::read_quantity(f, body, "minimum_quantity", true)) {
    v.minimum_quantity = *x;
    mark("minimum_quantity");
  }
  if (auto x = fields::read_quantity(f, body, "increment_rate", true)) {
    v.increment_rate = *x;
    mark("increment_rate");
  }
  if (auto x = f.string("image", false, 0, fields::max_url)) {
    v.image = *x;
    fields::check_picture_url(f, "image", v.image);
    mark("image");
  }
  if (auto x = f.boolean("is_hidden", false)) {
    v.is_hidden = *x;
    mark("is_hidden");
  }
  if (body.contains("category_id")) {
    if (body["category_id"].is_null()) {
      v.category_id = 0;
      mark("category_id");
    } else if (auto x = f.integer("category_id", false, 1, INT64_MAX)) {
      v.category_id = *x;
      mark("category_id");
    }
  }
  for (auto key :
       {"id", "shop_id", "sales_count", "effective_price", "offer", "created_at", "updated_at"})
    if (body.contains(key)) f.fail(key, "cannot be set");
  f.finish();
  return s;
}

save_offer decode_save_offer(const nlohmann::json& body, bool creating) {
  field_reader f(body);
  save_offer s;
  auto& v = s.values;
  auto mark = [&](const char* field) { s.set.push_back(field); };
  if (auto x = f.string("title", creating, 1, 200)) {
    v.title = *x;
    mark("title");
  }
  if (auto x = f.string("description", false, 0, fields::max_text)) {
    v.description = *x;
    mark("description");
  }
  if (auto x = f.string("url", false, 0, fields::max_url)) {
    v.url = *x;
    mark("url");
  }
  if (auto x = f.string("image", false, 0, fields::max_url)) {
    v.image = *x;
    fields::check_picture_url(f, "image", v.image);
    mark("image");
  }
  if (auto x = f.string("discount", creating, 1, 10)) {
    auto d = percent::parse(*x);
    if (!d || d->basis_points <= 0 || d->basis_points > 10000)
      f.fail("discount", "a percentage as a decimal string, more than 0 and at most 100");
    else {
      v.discount = *d;
      mark("discount");
    }
  }
  for (auto [name, target] : {std::pair<const char*, int64_t*>{"start_date", &v.start},
                              std::pair<const char*, int64_t*>{"end_date", &v.end}}) {
    if (auto x = f.string(name, creating, 1, 40)) {
      auto t = service_clock::parse_iso(*x);
      if (!t)
        f.fail(name, fields::timestamp_format);
      else {
        *target = *t;
        mark(name);
      }
    }
  }
  if (creating && v.start && v.end && v.end <= v.start)
    f.fail("end_date", "must be after start_date");
  if (auto x = f.boolean("is_sponsored", false)) {
    v.is_sponsored = *x;
    mark("is_sponsored");
  }
  auto ids = body.find("product_ids");
  if (ids == body.end() || ids->is_null()) {
    if (creating) f.fail("product_ids", "this field is required");
  } else if (!ids->is_array()) {
    f.fail("product_ids", "must be an array of product ids");
  } else {
    for (auto& id : *ids) {
      if (!id.is_number_integer() ||
          (id.is_number_unsigned() && id.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
          id.get<int64_t>() < 1) {
        f.fail("product_ids", "must be an array of product ids");
        break;
      }
      if (std::find(v.product_ids.begin(), v.product_ids.end(), id.get<int64_t>()) ==
          v.product_ids.end())
        v.product_ids.push_back(id.get<int64_t>());
    }
    if (v.product_ids.size() > 1000) f.fail("product_ids", "at most 1000 products");
    mark("product_ids");
  }
  for (auto key : {"id", "shop_id", "is_active"})
    if (body.contains(key)) f.fail(key, "cannot be set");
  f.finish();
  return s;
}

}  // namespace wassally::http
