// API.md "Images": uploading and removing the pictures of shops, shop categories, products and
// offers, and serving their renditions (GET/HEAD /media/{key}).
//
// An upload: the caller's rate (429), the body's shape (raw picture or multipart field `image`:
// 415, 400, 413), then the owner's word on access (the shop actor: 403/404) before any pixel is
// decoded; then, on the image pool (off the reactors and the CAF scheduler; 503 when full), the
// pipeline (415/400) and the store (files durable, 503 when the disk refuses), and only then
// the row changes through the resource's own save message — so a row never names a picture
// whose files are not on disk (a crash in between leaves files no row names, which the media
// sweep removes).
#include <chrono>
#include <string_view>

#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/catalog_json.hpp"
#include "http/media_cache.hpp"
#include "http/multipart.hpp"
#include "http/routes.hpp"
#include "media/image_pipeline.hpp"
#include "media/media_store.hpp"
#include "media/work_pool.hpp"
#include "protocols/accounts.hpp"
#include "protocols/catalog.hpp"
#include "protocols/pictures.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally::http {
namespace {

const role_set managers = {roles::shop_owner, roles::staff};

/// How one kind of resource takes a picture.
struct picture_route {
  std::string pattern;
  role_set roles;
  /// Continues with `then` once `ctx.caller` may change the picture (else answers the error).
  std::function<void(const request_context& ctx, std::function<void()> then)> check;
  /// Stores `image` (protocols/pictures.hpp; empty: none) in the resource's row and answers
  /// 200 with the whole resource.
  std::function<void(const request_context& ctx, const std::string& image)> save;
  std::string what;
};

std::vector<picture_route> picture_routes() {
  std::vector<picture_route> all;
  all.push_back({"/api/v1/shops/{id}/image", managers,
                 [](const request_context& ctx, std::function<void()> then) {
                   ask<done>(
                       ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
                       [then](done&) { then(); },
                       check_picture_access{caller_of(ctx), picture_subject::shop, 0});
                 },
                 [](const request_context& ctx, const std::string& image) {
                   patch_shop p{caller_of(ctx), {}, {"image"}};
                   p.values.image = image;
                   ask<shop_record>(
                       ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
                       [out = ctx.out, media = ctx.media_base](shop_record& s) {
                         out->json(200, shop_json(s, media));
                       },
                       std::move(p));
                 },
                 "a shop"});
  all.push_back({"/api/v1/shop-categories/{id}/image", staff_only,
                 // Staff may change every category; a missing one is 404 when the row is written.
                 [](const request_context&, std::function<void()> then) { then(); },
                 [](const request_context& ctx, const std::string& image) {
                   ask<shop_category>(
                       ctx, ctx.svc->shop_directory,
                       [out = ctx.out, media = ctx.media_base](shop_category& c) {
                         out->json(200, shop_category_json(c, media));
                       },
                       set_shop_category_image{ctx.id_param("id"), image});
                 },
                 "a shop category"});
  all.push_back({"/api/v1/products/{id}/image", managers,
                 [](const request_context& ctx, std::function<void()> then) {
                   auto id = ctx.id_param("id");
                   ask_owning_shop<done>(
                       ctx, shop_of_atom::value, id, [then](done&) { then(); },
                       check_picture_access{caller_of(ctx), picture_subject::product, id});
                 },
                 [](const request_context& ctx, const std::string& image) {
                   auto id = ctx.id_param("id");
                   save_product req{caller_of(ctx), id, {}, {"image"}};
                   req.values.image = image;
                   ask_owning_shop<product_record>(
                       ctx, shop_of_atom::value, id,
                       [out = ctx.out, media = ctx.media_base](product_record& p) {
                         out->json(200, product_json(p, media));
                       },
                       std::move(req));
                 },
                 "a product"});
  all.push_back({"/api/v1/offers/{id}/image", managers,
                 [](const request_context& ctx, std::function<void()> then) {
                   auto id = ctx.id_param("id");
                   ask_owning_shop<done>(
                       ctx, offer_shop_atom::value, id, [then](done&) { then(); },
                       check_picture_access{caller_of(ctx), picture_subject::offer, id});
                 },
                 [](const request_context& ctx, const std::string& image) {
                   auto id = ctx.id_param("id");
                   save_offer req{caller_of(ctx), id, {}, {"image"}};
                   req.values.image = image;
                   ask_owning_shop<offer_record>(
                       ctx, offer_shop_atom::value, id,
                       [out = ctx.out, media = ctx.media_base](offer_record& o) {
                         out->json(200, offer_json(o, media));
                       },
                       std::move(req));
                 },
                 "an offer"});
  return all;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

/// The picture's bytes in the upload body: the whole body (Content-Type image/* or
/// application/octet-stream; the bytes decide what it is) or the multipart field `image`.
std::string_view picture_in(const request_context& ctx) {
  const std::string& body = *ctx.upload;
  auto type =
      lower(trimmed(std::string_view(ctx.content_type)
                        .substr(0, std::min(ctx.content_type.find(';'), ctx.content_type.size()))));
  std::string_view picture;
  if (type == "multipart/form-data") {
    auto boundary = multipart_boundary(ctx.content_type);
    if (!boundary)
      throw api_exception(
          errors::malformed_request("multipart/form-data needs a boundary parameter"));
    bool found = false;
    for (auto& part : parse_multipart(body, *boundary))
      if (part.name == "image") {
        picture = part.data;
        found = true;
        break;
      }
    if (!found)
      throw api_exception(errors::validation("image", "send the picture in a field named image"));
  } else if (type.rfind("image/", 0) == 0 || type == "application/octet-stream") {
    picture = body;
  } else {
    throw api_exception(errors::unsupported_media_type(
        "send the picture as the body (Content-Type image/jpeg, image/png or image/webp) or as "
        "the field image of multipart/form-data"));
  }
  if (picture.empty()) throw api_exception(errors::validation("image", "the picture is empty"));
  if (picture.size() > ctx.svc->media.max_image_bytes)
    throw api_exception(errors::payload_too_large(ctx.svc->media.max_image_bytes));
  return picture;
}

api_error pool_full() {
  auto e = errors::unavailable("every picture worker is busy; retry shortly");
  e.extra["retry_after"] = 2;
  return e;
}

void upload(request_context& ctx, const picture_route& route) {
  const auto& m = ctx.svc->media;
  if (!m.store || !m.pool) throw api_exception(errors::unavailable("pictures are not enabled"));
  if (m.rate)
    if (auto wait = m.rate->take(ctx.user_id(), std::chrono::steady_clock::now()))
      throw api_exception(errors::rate_limited(wait));
  auto picture = picture_in(ctx);
  auto c = ctx;
  route.check(ctx, [c, picture, save = route.save]() {
    auto& media = c.svc->media;
    bool admitted = media.pool->try_submit([c, picture, save]() {
      answering_errors(*c.out, [&] {
        media::pipeline_limits limits;
        limits.max_pixels = c.svc->media.max_pixels;
        auto processed = media::process_picture(picture, limits);
        c.svc->media.store->put(processed);
        save(c, pictures::uploaded(processed.digest));
      });
    });
    if (!admitted) c.out->error(pool_full());
  });
}

/// Whether the Accept header lists image/webp (with a q above 0).
bool accepts_webp(const std::string& accept) {
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    auto comma = accept.find(',', pos);
    if (comma == std::string::npos) comma = accept.size();
    std::string_view item(accept.data() + pos, comma - pos);
    auto semi = item.find(';');
    if (lower(trimmed(item.substr(0, semi))) == "image/webp") {
      if (semi == std::string_view::npos) return true;
      auto params = lower(std::string(item.substr(semi + 1)));
      auto q = params.find("q=");
      if (q == std::string::npos) return true;
      try {
        return std::stod(params.substr(q + 2)) > 0;
      } catch (const std::exception&) {
        return false;
      }
    }
    pos = comma + 1;
  }
  return false;
}

/// Whether If-None-Match names `etag` (or is `*`); weak tags compare by their opaque part.
bool matches(const std::string& if_none_match, const std::string& etag) {
  std::size_t pos = 0;
  while (pos <= if_none_match.size()) {
    auto comma = if_none_match.find(',', pos);
    if (comma == std::string::npos) comma = if_none_match.size();
    auto tag = trimmed(std::string_view(if_none_match).substr(pos, comma - pos));
    if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
    if (tag == "*" || tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

void serve_media(request_context& ctx, bool head) {
  auto key = ctx.params.at("key");
  if (!media::valid_media_key(key) || !ctx.svc->media.store)
    throw api_exception(errors::not_found("no such picture"));
  auto accept = ctx.headers.find("accept");
  bool webp = accept != ctx.headers.end() && accepts_webp(accept->second);
  auto encoding = webp ? media::encoding::webp : media::encoding::jpeg;
  std::string file = key + (webp ? ".webp" : ".jpg");
  std::string etag = "\"" + file + "\"";
  std::map<std::string, std::string> headers = {
      {"Vary", "Accept"},
      {"ETag", etag},
      {"Cache-Control", "public, max-age=31536000, immutable"},
      {"X-Content-Type-Options", "nosniff"}};
  auto* cache = ctx.svc->media.cache;
  auto bytes = cache ? cache->find(file) : nullptr;
  if (!bytes) {
    bytes = ctx.svc->media.store->read(key, encoding);
    if (!bytes) throw api_exception(errors::not_found("no such picture"));
    if (cache) cache->store(file, bytes);
  }
  auto inm = ctx.headers.find("if-none-match");
  if (inm != ctx.headers.end() && matches(inm->second, etag)) {
    ctx.out->head_only(304, 0, "", headers);
    return;
  }
  auto type = webp ? "image/webp" : "image/jpeg";
  if (head)
    ctx.out->head_only(200, bytes->size(), type, headers);
  else
    ctx.out->text(200, *bytes, type, headers);
}

}  // namespace

void add_media_routes(router& r) {
  for (auto& route : picture_routes()) {
    r.add_upload(
        "PUT", route.pattern, route.roles, [route](request_context& ctx) { upload(ctx, route); },
        "Upload the picture of " + route.what +
            " (raw image/jpeg, image/png, image/webp, or multipart/form-data field image)");
    r.add(
        "DELETE", route.pattern, route.roles,
        [route](request_context& ctx) { route.save(ctx, ""); },
        "Remove the picture of " + route.what + " (200: the resource without it)");
  }
  r.add(
      "GET", "/media/{key}", {}, [](request_context& ctx) { serve_media(ctx, false); },
      "One rendition of a picture: WebP when Accept lists image/webp, else JPEG");
  r.add(
      "HEAD", "/media/{key}", {}, [](request_context& ctx) { serve_media(ctx, true); },
      "Headers of one rendition of a picture");
}

}  // namespace wassally::http
