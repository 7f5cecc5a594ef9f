// libFuzzer target over the request decoding layer: everything that turns attacker-chosen
// bytes into a protocol message before any actor sees it. The first input byte picks the
// decoder ('0' + mode, modulo the number of modes), the rest is its input:
//   0  JSON body → parse_object → every body decoder (http/json_body.*, http/decoders/*)
//   1  query string → Pistache-style split, url_decode → pagination and every query decoder
//   2  "METHOD path" → router matching over every path of the OpenAPI document, id parameters
//   3  bearer token text → token_signer::verify_access
//   4  "header\npayload" JSON, correctly signed → verify_access past the signature check
//   5  base64url decoding, and encode/decode round trips
//   6  money / quantity / percent / ISO-8601 parsing and their round trips
//   7  multipart: the first line is the Content-Type value, the rest is the body →
//      multipart_boundary then parse_multipart (with the raw line as the boundary when
//      there is none); every part's data view must lie inside the body
// Decoders may only fail with api_exception carrying a 4xx (the edge renders anything else
// as 500): any other exception aborts, as do crashes, leaks and undefined behaviour.
// Built by tests/fuzz/run (clang++, -fsanitize=fuzzer,address,undefined).

#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/decoders/accounts.hpp"
#include "http/decoders/analytics.hpp"
#include "http/decoders/catalog.hpp"
#include "http/decoders/crews.hpp"
#include "http/decoders/orders.hpp"
#include "http/decoders/shops.hpp"
#include "http/json_body.hpp"
#include "http/multipart.hpp"
#include "http/pagination.hpp"
#include "http/router.hpp"
#include "protocols/clock.hpp"
#include "protocols/errors.hpp"
#include "protocols/money.hpp"
#include "security/tokens.hpp"

using namespace wassally;
using namespace wassally::http;
using nlohmann::json;

namespace {

constexpr unsigned modes = 8;
const std::string secret = "fuzzing-secret-0123456789abcdef";

[[noreturn]] void fail(const char* where, const std::string& what) {
  std::fprintf(stderr, "decoding_fuzzer: %s: %s\n", where, what.c_str());
  std::abort();
}

void check(bool ok, const char* where, const std::string& what) {
  if (!ok) fail(where, what);
}

/// A refusal must be a client error the edge can render.
void check_refusal(const char* where, const api_error& e) {
  check(e.status >= 400 && e.status < 500, where, "status " + std::to_string(e.status));
  check(!e.code.empty(), where, "empty error code");
  if (e.code == "validation_error") check(!e.fields.empty(), where, "validation without fields");
  // The error renderer serialises with replacement of invalid UTF-8; it must not throw.
  json rendered = {{"code", e.code}, {"message", e.message}, {"fields", e.fields}};
  (void)rendered.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Runs `f`; an api_exception is a legitimate refusal, anything else a bug.
template <class F>
void decode(const char* where, F&& f) {
  try {
    f();
  } catch (const api_exception& e) {
    check_refusal(where, e.error);
  } catch (const std::exception& e) {
    fail(where, std::string("unexpected exception: ") + e.what());
  }
}

void check_no_nul(const char* where, const std::string& s) {
  check(s.find('\0') == std::string::npos, where, "decoded string holds NUL");
}

void fuzz_body(const std::string& body) {
  json j;
  try {
    j = parse_object(body);
  } catch (const api_exception& e) {
    check_refusal("parse_object", e.error);
    return;
  } catch (const std::exception& e) {
    fail("parse_object", std::string("unexpected exception: ") + e.what());
  }
  check(j.is_object(), "parse_object", "accepted a non-object");
  decode("register", [&] {
    auto u = decode_register(j, roles::customer);
    check(valid_username(u.username), "register", "invalid username accepted");
    check(u.password.size() >= 8 && u.password.size() <= 1024, "register", "password length");
    check(valid_phone(u.phone_number), "register", "invalid phone accepted");
    check_no_nul("register", u.first_name + u.last_name + u.email);
  });
  decode("login", [&] { decode_login(j); });
  decode("refresh", [&] { decode_refresh(j); });
  decode("shop_category", [&] { decode_shop_category(j); });
  decode("create_shop", [&] {
    auto c = decode_create_shop(j);
    check(c.shop.location.latitude >= -90 && c.shop.location.latitude <= 90, "create_shop",
          "latitude out of range");
  });
  decode("patch_shop", [&] { decode_patch_shop(j); });
  decode("save_product", [&] { decode_save_product(j, true); });
  decode("patch_product", [&] {
    auto p = decode_save_product(j, false);
    check(p.values.stock.milli >= 0, "patch_product", "negative stock accepted");
  });
  decode("category_name", [&] { decode_category_name(j); });
  decode("save_offer", [&] {
    auto o = decode_save_offer(j, true);
    check(o.values.discount.basis_points > 0 && o.values.discount.basis_points <= 10000,
          "save_offer", "discount out of range");
    for (auto id : o.values.product_ids) check(id >= 1, "save_offer", "product id < 1");
  });
  decode("patch_offer", [&] { decode_save_offer(j, false); });
  decode("add_cart_item", [&] {
    auto a = decode_add_cart_item(j);
    check(a.amount.milli > 0, "add_cart_item", "quantity <= 0 accepted");
  });
  decode("set_cart_item", [&] { decode_set_cart_item(j); });
  decode("place_order", [&] {
    auto o = decode_place_order(j);
    check(o.from_cart || (!o.lines.empty() && o.lines.size() <= 100), "place_order", "lines");
    for (auto& l : o.lines) check(l.amount.milli > 0, "place_order", "quantity <= 0 accepted");
  });
  decode("crew_location", [&] { decode_crew_location(j); });
  decode("crew_status", [&] { decode_crew_status(j); });
  decode("delivery_code", [&] { decode_delivery_code(j); });
  decode("assignment", [&] { check(decode_assignment(j) >= 1, "assignment", "crew id < 1"); });
  decode("delivery_request", [&] {
    auto r = decode_delivery_request(j);
    check(r.price.cents > 0, "delivery_request", "price <= 0 accepted");
  });
}

/// The query map as the edge builds it: Pistache splits on '&' and '=' (the first value of a
/// name wins), the edge percent-decodes the values (a value it refuses is left out here, so
/// that the decoders still see the rest).
std::map<std::string, std::string> split_query(const std::string& q) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= q.size()) {
    auto amp = q.find('&', pos);
    if (amp == std::string::npos) amp = q.size();
    auto part = q.substr(pos, amp - pos);
    auto eq = part.find('=');
    auto key = part.substr(0, eq);
    auto value = eq == std::string::npos ? std::string() : part.substr(eq + 1);
    if (!out.count(key)) {
      try {
        out.emplace(key, decode_query_value(key, value));
      } catch (const api_exception& e) {
        check_refusal("decode_query_value", e.error);
      }
    }
    pos = amp + 1;
  }
  return out;
}

void fuzz_query(const std::string& text) {
  std::string decoded;
  decode("url_decode", [&] { decoded = url_decode(text); });
  check(decoded.size() <= text.size(), "url_decode", "decoding grew the text");
  auto query = split_query(text);
  decode("page", [&] {
    auto p = parse_page(query);
    check(p.page >= 1 && p.page_size >= 1 && p.page_size <= 100, "page", "out of range");
    check(p.offset() >= 0, "page", "negative offset");
    // Links for a page of any count a list can have.
    for (int64_t count : {int64_t{0}, int64_t{1}, p.offset() + p.page_size + 1, int64_t{1} << 40}) {
      auto page = paginate(count, json::array(), p, "127.0.0.1:8080", "/api/v1/shops", query);
      check(page["results"].is_array(), "paginate", "results");
      (void)page.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  });
  decode("shop_query", [&] {
    auto q = decode_shop_query(query);
    if (q.near) check(q.latitude >= -90 && q.latitude <= 90, "shop_query", "near latitude");
    check(q.radius_km > 0 && q.radius_km <= 20038, "shop_query", "radius");
  });
  decode("order_query", [&] { decode_order_query(query); });
  decode("radius", [&] { check(decode_radius(query) > 0, "radius", "radius <= 0"); });
  decode("crew_query", [&] { decode_crew_query(query); });
  for (auto kind : {"top-products", "sales", "summary"})
    decode("analytics_query", [&] {
      auto q = decode_analytics_query(query, kind);
      check(q.limit >= 1 && q.limit <= 100, "analytics_query", "limit");
    });
}

const router& openapi_router() {
  static const router r = [] {
    router out;
    std::ifstream in(std::string(WASSALLY_SOURCE_DIR) + "/http/openapi.json");
    if (!in) fail("setup", "cannot read http/openapi.json");
    auto doc = json::parse(in);
    for (auto& [path, item] : doc.at("paths").items())
      for (auto& [method, op] : item.items()) {
        std::string m = method;
        for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.add(m, path, {}, nullptr);
      }
    return out;
  }();
  return r;
}

void fuzz_path(const std::string& text) {
  auto space = text.find(' ');
  auto method = space == std::string::npos ? std::string("GET") : text.substr(0, space);
  auto path = space == std::string::npos ? text : text.substr(space + 1);
  if (path.empty() || path[0] != '/') path.insert(0, "/");  // Pistache's resource starts so
  if (!valid_utf8(path)) return;                            // the edge answers 404 first
  std::map<std::string, std::string> params;
  api_error err;
  auto* r = openapi_router().match(method, path, params, err);
  if (!r) {
    check(err.status == 404 || err.status == 405, "router", "status " + std::to_string(err.status));
    return;
  }
  check(r->method == method, "router", "matched another method");
  request_context ctx;
  ctx.params = params;
  for (auto& param : params) {
    const auto& name = param.first;
    decode("id_param", [&] { check(ctx.id_param(name) >= 1, "id_param", "id < 1"); });
  }
}

const security::token_signer& signer() {
  static const security::token_signer s(secret);
  return s;
}

std::string hmac_b64(const std::string& input) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return security::base64url_encode(std::string(reinterpret_cast<char*>(mac), sizeof mac));
}

void fuzz_token(const std::string& token) {
  security::token_error why{};
  try {
    auto p = signer().verify_access(token, 1700000000, &why);
    // A principal only comes out of a token whose last part is the HMAC of the rest.
    if (p) {
      auto dot = token.rfind('.');
      check(dot != std::string::npos && token.substr(dot + 1) == hmac_b64(token.substr(0, dot)),
            "verify_access", "accepted a token without a valid signature");
    }
  } catch (const std::exception& e) {
    fail("verify_access", std::string("unexpected exception: ") + e.what());
  }
}

void fuzz_signed_token(const std::string& text) {
  auto nl = text.find('\n');
  auto header =
      nl == std::string::npos ? std::string(R"({"alg":"HS256","typ":"JWT"})") : text.substr(0, nl);
  auto payload = nl == std::string::npos ? text : text.substr(nl + 1);
  auto input = security::base64url_encode(header) + "." + security::base64url_encode(payload);
  auto token = input + "." + hmac_b64(input);
  try {
    security::token_error why{};
    auto p = signer().verify_access(token, 1700000000, &why);
    if (p) {
      check(p->expires_at > 1700000000, "signed_token", "expired token accepted");
      auto parsed = json::parse(payload);
      check(parsed.at("typ") == "access", "signed_token", "wrong type accepted");
      check(parsed.at("role") == p->role, "signed_token", "role differs from the payload");
    }
  } catch (const std::exception& e) {
    fail("verify_access(signed)", std::string("unexpected exception: ") + e.what());
  }
}

void fuzz_base64(const std::string& text) {
  try {
    auto decoded = security::base64url_decode(text);
    if (decoded)
      check(security::base64url_encode(*decoded) == text, "base64url", "decode/encode differ");
    auto again = security::base64url_decode(security::base64url_encode(text));
    check(again && *again == text, "base64url", "encode/decode round trip");
  } catch (const std::exception& e) {
    fail("base64url", std::string("unexpected exception: ") + e.what());
  }
}

void fuzz_scalars(const std::string& text) {
  try {
    if (auto m = money::parse(text)) {
      auto again = money::parse(m->str());
      check(again && again->cents == m->cents, "money", "round trip of " + text);
    }
    if (auto q = quantity::parse(text)) {
      auto again = quantity::parse(q->str());
      check(again && again->milli == q->milli, "quantity", "round trip of " + text);
    }
    if (auto p = percent::parse(text)) {
      auto again = percent::parse(p->str());
      check(again && again->basis_points == p->basis_points, "percent", "round trip");
    }
    if (auto t = service_clock::parse_iso(text)) {
      auto again = service_clock::parse_iso(service_clock::format_iso(*t));
      check(again && *again == *t, "parse_iso", "round trip of " + text);
    }
    if (text.size() >= sizeof(double)) {
      double d;
      std::memcpy(&d, text.data(), sizeof d);
      if (auto q = quantity::from_double(d))
        check(q->milli >= -1000000000000000LL && q->milli <= 1000000000000000LL, "from_double",
              "out of range");
    }
  } catch (const std::exception& e) {
    fail("scalars", std::string("unexpected exception: ") + e.what());
  }
}

void fuzz_multipart(const std::string& text) {
  auto nl = text.find('\n');
  auto content_type = std::string_view(text).substr(0, nl);
  if (!content_type.empty() && content_type.back() == '\r') content_type.remove_suffix(1);
  // The body in a heap buffer of exactly its size, so that reading past its end is caught.
  const std::size_t size = nl == std::string::npos ? 0 : text.size() - nl - 1;
  std::unique_ptr<char[]> buffer(new char[size]);
  if (size) std::memcpy(buffer.get(), text.data() + nl + 1, size);
  const std::string_view body(buffer.get(), size);
  std::optional<std::string> boundary;
  try {
    boundary = multipart_boundary(content_type);
  } catch (const std::exception& e) {
    fail("multipart_boundary", std::string("unexpected exception: ") + e.what());
  }
  if (boundary) {
    check(!boundary->empty() && boundary->size() <= 70, "multipart_boundary", "length");
    check(boundary->find_first_of("\"\\\r\n;") == std::string::npos, "multipart_boundary",
          "boundary holds a quote, backslash, line end or ';'");
  }
  decode("parse_multipart", [&] {
    // Without a boundary the raw line is one (mostly refused: that path is fuzzed too).
    auto parts = parse_multipart(body, boundary ? std::string_view(*boundary) : content_type);
    check(parts.size() <= multipart_max_parts, "parse_multipart", "too many parts");
    for (auto& p : parts)
      check(p.data.data() >= body.data() && p.data.data() + p.data.size() <= body.data() + size,
            "parse_multipart", "part data outside the body");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (static_cast<uint8_t>(data[0] - '0') % modes) {
    case 0:
      fuzz_body(text);
      break;
    case 1:
      fuzz_query(text);
      break;
    case 2:
      fuzz_path(text);
      break;
    case 3:
      fuzz_token(text);
      break;
    case 4:
      fuzz_signed_token(text);
      break;
    case 5:
      fuzz_base64(text);
      break;
    case 6:
      fuzz_scalars(text);
      break;
    default:
      fuzz_multipart(text);
      break;
  }
  return 0;
}
