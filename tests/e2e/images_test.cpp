// API.md "Images" end to end: real pictures made with libvips go through the real server and
// come back as renditions, checked for size, rotation, metadata, transparency, caching headers;
// every refusal with its status and code; authorization as for the resource; the per-user
// rate, the bounded pool, the upload time limit; and the sweep of files no row refers to.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/pictures.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

int counter = 0;
std::string next_id() { return std::to_string(getpid() % 10000) + "m" + std::to_string(++counter); }
std::string next_phone() {
  return "+2013" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++counter);
}

std::string temp_dir() {
  char tmpl[] = "/tmp/wassally-media-XXXXXX";
  auto* dir = ::mkdtemp(tmpl);
  BOOST_REQUIRE(dir);
  return dir;
}

/// Every file under `root` (relative paths).
std::set<std::string> files_under(const std::string& root) {
  std::set<std::string> out;
  DIR* top = ::opendir(root.c_str());
  if (!top) return out;
  while (auto* sub = ::readdir(top)) {
    std::string name = sub->d_name;
    if (name == "." || name == "..") continue;
    DIR* dir = ::opendir((root + "/" + name).c_str());
    if (!dir) continue;
    while (auto* f = ::readdir(dir)) {
      std::string file = f->d_name;
      if (file != "." && file != "..") out.insert(name + "/" + file);
    }
    ::closedir(dir);
  }
  ::closedir(top);
  return out;
}

using settings = std::map<std::string, std::string>;

struct world {
  std::string media_dir = temp_dir();
  server_process server;
  http_client client = server.client();
  header_map staff = auth("img.staff", "staff-password-1");
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  explicit world(settings env = {})
      : server([&] {
          server_process::options o;
          o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
                   {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
                   {"WASSALLY_LOGIN_MAX_FAILURES", "1000"},
                   {"WASSALLY_MEDIA_DIR", media_dir},
                   {"WASSALLY_BOOTSTRAP_STAFF", "img.staff:staff-password-1"}};
          for (auto& [k, v] : env) o.env[k] = v;
          return o;
        }()) {
    start_vips();
  }

  header_map auth(const std::string& user, const std::string& password) {
    auto r = client.post_json("/api/v1/auth/login", {{"username", user}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["access"].get<std::string>()}};
  }
  header_map customer() {
    auto name = "imgcust" + next_id();
    auto r = client.post_json(
        "/api/v1/auth/register",
        {{"username", name}, {"password", "password-1"}, {"phone_number", next_phone()}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return auth(name, "password-1");
  }
  int64_t category() {
    auto r = client.post_json("/api/v1/shop-categories", {{"name", "Cat" + next_id()}}, staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  /// A shop and its owner's credentials.
  std::pair<int64_t, header_map> shop() {
    auto owner = "imgowner" + next_id();
    json body = {
        {"name", "Shop " + next_id()},
        {"description", "fresh"},
        {"phone_number", next_phone()},
        {"category_id", category()},
        {"location", {{"address", "x"}, {"latitude", 30.0}, {"longitude", 31.0}}},
        {"owner",
         {{"username", owner}, {"password", "owner-pass-1"}, {"phone_number", next_phone()}}}};
    auto r = client.post_json("/api/v1/shops", body, staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return {r.json()["id"].get<int64_t>(), auth(owner, "owner-pass-1")};
  }
  int64_t product(int64_t shop_id, const header_map& owner) {
    auto r = client.post_json("/api/v1/shops/" + std::to_string(shop_id) + "/products",
                              {{"name", "P" + next_id()}, {"price", "5.00"}, {"stock", 10}}, owner);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  int64_t offer(int64_t shop_id, int64_t product_id, const header_map& owner) {
    auto r = client.post_json("/api/v1/shops/" + std::to_string(shop_id) + "/offers",
                              {{"title", "O" + next_id()},
                               {"discount", "10.00"},
                               {"start_date", "2020-01-01T00:00:00Z"},
                               {"end_date", "2090-01-01T00:00:00Z"},
                               {"product_ids", {product_id}}},
                              owner);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  http_response put_raw(const std::string& path, const std::string& bytes, const std::string& type,
                        header_map who) {
    who["Content-Type"] = type;
    return client.request("PUT", path, bytes, who);
  }
  http_response put_multipart(const std::string& path, const std::string& field,
                              const std::string& bytes, header_map who) {
    std::string type;
    auto body = multipart_body(field, "photo.jpg", "image/jpeg", bytes, type);
    who["Content-Type"] = type;
    return client.request("PUT", path, body, who);
  }
  /// GET of a rendition URL from a response (absolute; this server).
  http_response fetch(const std::string& url, header_map h = {}) {
    BOOST_REQUIRE_MESSAGE(url.rfind(base + "/media/", 0) == 0, url);
    return client.get(url.substr(base.size()), h);
  }
};

void expect_error(const http_response& r, int status, const std::string& code,
                  const std::string& field = {}) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  BOOST_TEST(r.json()["error"]["code"] == code, r.body);
  if (!field.empty()) BOOST_TEST(r.json()["error"]["fields"].contains(field), r.body);
}

bool near(const std::vector<double>& px, std::vector<double> want, double tolerance = 40) {
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::abs(px[i] - want[i]) > tolerance) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(images)

BOOST_AUTO_TEST_CASE(a_phone_photo_is_rotated_stripped_and_served_in_three_sizes) {
  world w;
  auto [shop_id, owner] = w.shop();
  auto product_id = w.product(shop_id, owner);
  // 2400×1800 landscape as the sensor saw it, left red, right blue; EXIF orientation 6 says
  // "turn 90° clockwise to view" (a portrait photo), plus the GPS position phones record.
  auto sensor = two_halves(2400, 1800, {255, 0, 0}, {0, 0, 255});
  auto photo = jpeg_of(sensor, phone_exif(6), 6);
  auto as_sent = decode(photo);
  BOOST_REQUIRE(as_sent.get_int("orientation") == 6);
  BOOST_REQUIRE(as_sent.get_typeof("exif-ifd3-GPSLatitude") != 0);  // the test's own premise

  auto r = w.put_raw("/api/v1/products/" + std::to_string(product_id) + "/image", photo,
                     "image/jpeg", owner);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto p = r.json();
  BOOST_TEST(p["id"] == product_id);
  BOOST_TEST(p["images"]["large"] == p["image"]);
  const std::map<std::string, std::pair<int, int>> sizes = {
      {"large", {1200, 1600}}, {"medium", {480, 640}}, {"thumb", {120, 160}}};
  for (auto& [name, dims] : sizes) {
    auto url = p["images"][name].get<std::string>();
    BOOST_TEST(url.find(name) != std::string::npos);
    for (bool webp : {true, false}) {
      auto got = w.fetch(url, webp ? header_map{{"Accept", "image/avif,image/webp,*/*;q=0.8"}}
                                   : header_map{{"Accept", "image/jpeg,*/*"}});
      BOOST_REQUIRE_MESSAGE(got.status == 200, got.body);
      BOOST_TEST(got.header("content-type") == (webp ? "image/webp" : "image/jpeg"));
      BOOST_TEST(got.header("vary") == "Accept");
      BOOST_TEST(got.header("cache-control") == "public, max-age=31536000, immutable");
      BOOST_TEST(got.header("x-content-type-options") == "nosniff");
      BOOST_TEST(!got.header("etag").empty());
      auto image = decode(got.body);
      BOOST_TEST(image.width() == dims.first, name << " width " << image.width());
      BOOST_TEST(image.height() == dims.second, name << " height " << image.height());
      // Rotated: the sensor's left (red) is now the top, its right (blue) the bottom.
      BOOST_TEST(near(image.getpoint(dims.first / 2, dims.second / 8), {255, 0, 0}), name);
      BOOST_TEST(near(image.getpoint(dims.first / 2, dims.second * 7 / 8), {0, 0, 255}), name);
      BOOST_TEST(!has_metadata(image), name << (webp ? " webp" : " jpeg") << " kept metadata");
      BOOST_TEST(got.body.find("Exif") == std::string::npos);
      BOOST_TEST(got.body.find("GPS") == std::string::npos);
      // The ETag is the format's: a client holding it gets 304, with the same validators.
      auto again = w.fetch(url, {{"Accept", webp ? "image/webp" : "image/jpeg"},
                                 {"If-None-Match", got.header("etag")}});
      BOOST_TEST(again.status == 304);
      BOOST_TEST(again.body.empty());
      BOOST_TEST(again.header("etag") == got.header("etag"));
      // HEAD: the same headers and length, no body.
      auto head = w.client.request("HEAD", url.substr(w.base.size()), "",
                                   {{"Accept", webp ? "image/webp" : "image/jpeg"}});
      BOOST_TEST(head.status == 200);
      BOOST_TEST(head.header("content-length") == std::to_string(got.body.size()));
      BOOST_TEST(head.header("etag") == got.header("etag"));
    }
  }
  // What customers browse carries the picture: the product, and the shop's product list.
  auto seen = w.client.get("/api/v1/products/" + std::to_string(product_id), w.customer());
  BOOST_TEST(seen.json()["images"] == p["images"]);
  auto list = w.client.get("/api/v1/shops/" + std::to_string(shop_id) + "/products");
  BOOST_TEST(list.json()["results"][0]["images"]["thumb"] == p["images"]["thumb"]);
  // The row stores the key; the same bytes again are the same key (content-addressed).
  auto repeat = w.put_raw("/api/v1/products/" + std::to_string(product_id) + "/image", photo,
                          "image/jpeg", owner);
  BOOST_TEST(repeat.json()["image"] == p["image"]);
  // Removed: the product answers without a picture.
  auto removed = w.client.del("/api/v1/products/" + std::to_string(product_id) + "/image", owner);
  BOOST_TEST(removed.status == 200, removed.body);
  BOOST_TEST(removed.json()["image"].is_null());
  BOOST_TEST(removed.json()["images"].is_null());
  BOOST_TEST(
      w.client.get("/api/v1/products/" + std::to_string(product_id)).json()["image"].is_null());
}

BOOST_AUTO_TEST_CASE(transparency_is_kept_in_webp_and_flattened_onto_white_in_jpeg) {
  world w;
  auto [shop_id, owner] = w.shop();
  auto product_id = w.product(shop_id, owner);
  auto offer_id = w.offer(shop_id, product_id, owner);
  // 400×300: the left half fully transparent, the right half opaque green.
  auto rgb = two_halves(400, 300, {0, 0, 0}, {0, 200, 0});
  auto alpha = two_halves(400, 300, {0}, {255}).extract_band(0);
  auto png = png_of(rgb.bandjoin(alpha).copy(
      vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB)));
  // As the owner app sends it: multipart/form-data, the picture in the field `image`.
  auto r =
      w.put_multipart("/api/v1/offers/" + std::to_string(offer_id) + "/image", "image", png, owner);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.json()["id"] == offer_id);
  auto url = r.json()["images"]["large"].get<std::string>();
  auto webp = decode(w.fetch(url, {{"Accept", "image/webp"}}).body);
  BOOST_TEST(webp.width() == 400);  // never enlarged
  BOOST_TEST(webp.bands() == 4);
  BOOST_TEST(webp.getpoint(50, 150)[3] < 10);  // transparent stays transparent
  BOOST_TEST(near(webp.getpoint(350, 150), {0, 200, 0, 255}));
  auto jpeg = decode(w.fetch(url).body);
  BOOST_TEST(jpeg.bands() == 3);
  BOOST_TEST(near(jpeg.getpoint(50, 150), {255, 255, 255}, 8));  // flattened onto white
  BOOST_TEST(near(jpeg.getpoint(350, 150), {0, 200, 0}));
  // The offer lists carry it too.
  auto offers = w.client.get("/api/v1/shops/" + std::to_string(shop_id) + "/offers");
  BOOST_TEST(offers.json()["results"][0]["images"]["thumb"] == r.json()["images"]["thumb"]);
}

BOOST_AUTO_TEST_CASE(webp_for_shops_and_categories_by_their_managers) {
  world w;
  auto [shop_id, owner] = w.shop();
  auto webp = webp_of(two_halves(900, 900, {10, 120, 30}, {200, 200, 20}));
  auto shop_path = "/api/v1/shops/" + std::to_string(shop_id) + "/image";
  auto by_owner = w.put_raw(shop_path, webp, "image/webp", owner);
  BOOST_REQUIRE_MESSAGE(by_owner.status == 200, by_owner.body);
  BOOST_TEST(by_owner.json()["id"] == shop_id);
  BOOST_TEST(by_owner.json()["images"]["medium"].is_string());
  auto medium = decode(w.fetch(by_owner.json()["images"]["medium"]).body);
  BOOST_TEST(medium.width() == 640);
  BOOST_TEST(medium.height() == 640);
  // Staff too; the Content-Type is not believed, the bytes are.
  auto by_staff = w.put_raw(shop_path, webp, "image/png", w.staff);
  BOOST_TEST(by_staff.status == 200, by_staff.body);
  auto listed = w.client.get("/api/v1/shops/" + std::to_string(shop_id));
  BOOST_TEST(listed.json()["images"] == by_owner.json()["images"]);

  auto category_id = w.category();
  auto cat_path = "/api/v1/shop-categories/" + std::to_string(category_id) + "/image";
  expect_error(w.put_raw(cat_path, webp, "image/webp", owner), 403, "forbidden");
  auto cat = w.put_multipart(cat_path, "image", webp, w.staff);
  BOOST_REQUIRE_MESSAGE(cat.status == 200, cat.body);
  bool found = false;
  auto categories = w.client.get("/api/v1/shop-categories?page_size=100").json();
  for (auto& c : categories["results"])
    if (c["id"] == category_id) {
      found = true;
      BOOST_TEST(c["images"] == cat.json()["images"]);
    }
  BOOST_TEST(found);
  auto gone = w.client.del(cat_path, w.staff);
  BOOST_TEST(gone.status == 200);
  BOOST_TEST(gone.json()["image"].is_null());
  expect_error(w.put_raw("/api/v1/shop-categories/999999/image", webp, "image/webp", w.staff), 404,
               "not_found");
}

BOOST_AUTO_TEST_CASE(bad_pictures_are_refused_precisely) {
  world w(settings{{"WASSALLY_MAX_IMAGE_BYTES", "2000000"}});
  auto [shop_id, owner] = w.shop();
  auto path = "/api/v1/products/" + std::to_string(w.product(shop_id, owner)) + "/image";
  auto good = jpeg_of(two_halves(800, 600, {255, 0, 0}, {0, 0, 255}));

  expect_error(w.put_raw(path, good.substr(0, good.size() / 2), "image/jpeg", owner), 400,
               "invalid_image");
  // A decompression bomb: 8000×6000 (48 MP) of one colour is a small PNG.
  start_vips();
  auto bomb = png_of(vips::VImage::black(8000, 6000).cast(VIPS_FORMAT_UCHAR));
  BOOST_REQUIRE(bomb.size() < 2000000);
  expect_error(w.put_raw(path, bomb, "image/png", owner), 400, "invalid_image");
  // Not a picture we read, whatever it is called: PDF, SVG, GIF, text.
  expect_error(
      w.put_raw(path, "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "image/jpeg", owner),
      415, "unsupported_media_type");
  expect_error(
      w.put_raw(path, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>",
                "image/svg+xml", owner),
      415, "unsupported_media_type");
  expect_error(
      w.put_raw(path, std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14), "image/gif", owner),
      415, "unsupported_media_type");
  expect_error(w.put_raw(path, good, "text/plain", owner), 415, "unsupported_media_type");
  expect_error(w.put_raw(path, good, "application/json", owner), 415, "unsupported_media_type");
  expect_error(w.put_raw(path, "", "image/jpeg", owner), 400, "validation_error", "image");
  expect_error(w.put_multipart(path, "photo", good, owner), 400, "validation_error", "image");
  // Over max_image_bytes (2,000,000 here): 413; the JSON routes keep their 1 MiB.
  std::string big = good + std::string(2000001 - good.size(), '\0');
  expect_error(w.put_raw(path, big, "image/jpeg", owner), 413, "payload_too_large");
  std::string json_body = "{\"name\":\"" + std::string(1100000, 'a') + "\"}";
  auto as_json = owner;
  as_json["Content-Type"] = "application/json";
  expect_error(w.client.request("POST", "/api/v1/shops/" + std::to_string(shop_id) + "/products",
                                json_body, as_json),
               413, "payload_too_large");
  // External pictures stay possible, as http(s) URLs only.
  auto product_path = path.substr(0, path.size() - 6);
  expect_error(w.client.patch_json(product_path, {{"image", "javascript:alert(1)"}}, owner), 400,
               "validation_error", "image");
  auto external =
      w.client.patch_json(product_path, {{"image", "https://cdn.example.com/p.png"}}, owner);
  BOOST_TEST(external.json()["image"] == "https://cdn.example.com/p.png");
  BOOST_TEST(external.json()["images"].is_null());
  // Media keys: unknown or malformed → 404.
  expect_error(w.client.get("/media/" + std::string(64, 'a') + "-large"), 404, "not_found");
  expect_error(w.client.get("/media/..%2f..%2fetc%2fpasswd"), 404, "not_found");
  expect_error(w.client.get("/media/" + std::string(64, 'a') + "-huge"), 404, "not_found");
  // Nothing was stored by any refused upload.
  BOOST_TEST(files_under(w.media_dir).empty());
}

BOOST_AUTO_TEST_CASE(authorization_is_the_resources_and_comes_before_any_work) {
  world w;
  auto [shop_id, owner] = w.shop();
  auto [other_shop, other_owner] = w.shop();
  auto product_id = w.product(shop_id, owner);
  auto offer_id = w.offer(shop_id, product_id, owner);
  auto jpeg = jpeg_of(two_halves(300, 200, {255, 0, 0}, {0, 0, 255}));
  for (auto path : {"/api/v1/shops/" + std::to_string(shop_id) + "/image",
                    "/api/v1/products/" + std::to_string(product_id) + "/image",
                    "/api/v1/offers/" + std::to_string(offer_id) + "/image"}) {
    expect_error(w.put_raw(path, jpeg, "image/jpeg", other_owner), 403, "forbidden");
    expect_error(w.client.del(path, other_owner), 403, "forbidden");
    expect_error(w.put_raw(path, jpeg, "image/jpeg", w.customer()), 403, "forbidden");
    expect_error(w.put_raw(path, jpeg, "image/jpeg", {}), 401, "unauthenticated");
  }
  expect_error(w.put_raw("/api/v1/products/99999999/image", jpeg, "image/jpeg", owner), 404,
               "not_found");
  expect_error(w.put_raw("/api/v1/offers/99999999/image", jpeg, "image/jpeg", owner), 404,
               "not_found");
  // None of those decoded or stored anything.
  BOOST_TEST(files_under(w.media_dir).empty());
  BOOST_TEST(
      w.client.get("/api/v1/products/" + std::to_string(product_id)).json()["image"].is_null());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(images_limits)

BOOST_AUTO_TEST_CASE(each_user_has_an_upload_rate) {
  world w(settings{{"WASSALLY_UPLOAD_RATE_PER_MINUTE", "3"}});
  auto [shop_id, owner] = w.shop();
  auto path = "/api/v1/shops/" + std::to_string(shop_id) + "/image";
  auto jpeg = jpeg_of(two_halves(64, 64, {255, 0, 0}, {0, 0, 255}));
  for (int i = 0; i < 3; ++i) BOOST_TEST(w.put_raw(path, jpeg, "image/jpeg", owner).status == 200);
  auto limited = w.put_raw(path, jpeg, "image/jpeg", owner);
  expect_error(limited, 429, "rate_limited");
  BOOST_TEST(std::stoi(limited.header("retry-after")) >= 1);
  // Another user is not limited by the first one's uploads.
  BOOST_TEST(w.put_raw(path, jpeg, "image/jpeg", w.staff).status == 200);
}

BOOST_AUTO_TEST_CASE(a_full_image_pool_answers_503_at_once) {
  world w(settings{{"WASSALLY_IMAGE_QUEUE", "1"}, {"WASSALLY_IMAGE_WORKERS", "1"}});
  auto [shop_id, owner] = w.shop();
  auto path = "/api/v1/shops/" + std::to_string(shop_id) + "/image";
  start_vips();
  // Noise does not compress: a 16 MP JPEG of it takes the one worker a while to decode.
  auto noise = vips::VImage::gaussnoise(4000, 3000, vips::VImage::option()->set("sigma", 40))
                   .bandjoin_const({128, 128})
                   .cast(VIPS_FORMAT_UCHAR)
                   .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  auto jpeg = jpeg_of(noise, {}, 0, 75);
  BOOST_TEST_MESSAGE("pool test picture: " << jpeg.size() << " bytes");
  BOOST_REQUIRE(jpeg.size() < 10 * 1024 * 1024);
  const int n = 8;
  std::vector<std::future<http_response>> answers;
  std::promise<void> go;
  auto start = go.get_future().share();
  for (int i = 0; i < n; ++i)
    answers.push_back(std::async(std::launch::async, [&, start] {
      http_client c = w.server.client();
      start.wait();
      return c.request("PUT", path, jpeg, {{"Content-Type", "image/jpeg"}, *owner.begin()});
    }));
  go.set_value();
  int ok = 0, busy = 0;
  for (auto& a : answers) {
    auto r = a.get();
    BOOST_TEST_MESSAGE("upload answered " << r.status);
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++busy;
      BOOST_TEST(r.json()["error"]["code"] == "unavailable");
      BOOST_TEST(!r.header("retry-after").empty());
    }
  }
  BOOST_TEST(ok >= 1);
  BOOST_TEST(busy >= 1);
  BOOST_TEST(ok + busy == n);
}

/// Sends `head` and `body` on a fresh connection, the body in `pieces` spread over `spread`;
/// returns the status line's code (0: nothing came back).
int trickle(uint16_t port, const std::string& head, const std::string& body, int pieces,
            std::chrono::milliseconds spread) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  std::size_t step = body.size() / pieces + 1;
  for (std::size_t at = 0; at < body.size(); at += step) {
    std::this_thread::sleep_for(spread / pieces);
    ::send(fd, body.data() + at, std::min(step, body.size() - at), MSG_NOSIGNAL);
  }
  char buf[512];
  auto n = ::recv(fd, buf, sizeof buf - 1, 0);
  ::close(fd);
  if (n < 12) return 0;
  return std::atoi(std::string(buf + 9, 3).c_str());
}

BOOST_AUTO_TEST_CASE(uploads_have_their_own_time_limit) {
  // JSON requests must arrive within 2 s; uploads within 10 s.
  world w(settings{{"WASSALLY_HEADER_TIMEOUT_S", "2"},
                   {"WASSALLY_UPLOAD_TIMEOUT_S", "10"},
                   {"WASSALLY_SSE_KEEPALIVE_S", "1"}});
  auto [shop_id, owner] = w.shop();
  auto token = owner.begin()->second;
  std::string json_body = "{\"name\":\"slow\",\"price\":\"5.00\"}";
  auto slow_json = trickle(w.server.port(),
                           "POST /api/v1/shops/" + std::to_string(shop_id) +
                               "/products HTTP/1.1\r\nHost: x\r\nAuthorization: " + token +
                               "\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(json_body.size()) + "\r\n\r\n",
                           json_body, 4, std::chrono::milliseconds(4500));
  BOOST_TEST(slow_json == 408);
  auto jpeg = jpeg_of(two_halves(200, 200, {255, 0, 0}, {0, 0, 255}));
  auto slow_upload =
      trickle(w.server.port(),
              "PUT /api/v1/shops/" + std::to_string(shop_id) +
                  "/image HTTP/1.1\r\nHost: x\r\nAuthorization: " + token +
                  "\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) +
                  "\r\n\r\n",
              jpeg, 4, std::chrono::milliseconds(4500));
  BOOST_TEST(slow_upload == 200);
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_take_the_files_is_503_and_leaves_no_half_file) {
  world w;
  auto [shop_id, owner] = w.shop();
  auto product_id = w.product(shop_id, owner);
  auto path = "/api/v1/products/" + std::to_string(product_id) + "/image";
  start_vips();
  auto noise = vips::VImage::gaussnoise(1600, 1200, vips::VImage::option()->set("sigma", 50))
                   .bandjoin_const({128, 128})
                   .cast(VIPS_FORMAT_UCHAR)
                   .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  auto photo = jpeg_of(noise, {}, 0, 90);
  // The server may write no file beyond 64 KiB (RLIMIT_FSIZE: writes fail with EFBIG, the
  // same path as ENOSPC on a full disk); the large renditions of noise are far bigger.
  rlimit small{64 * 1024, RLIM_INFINITY};  // the soft limit only: raised again below
  BOOST_REQUIRE(::prlimit(w.server.pid(), RLIMIT_FSIZE, &small, nullptr) == 0);
  auto refused = w.put_raw(path, photo, "image/jpeg", owner);
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  BOOST_REQUIRE(::prlimit(w.server.pid(), RLIMIT_FSIZE, &unlimited, nullptr) == 0);
  expect_error(refused, 503, "unavailable");
  BOOST_TEST(!refused.header("retry-after").empty());
  // The row names no picture; no temporary is left; whatever final file exists is whole.
  BOOST_TEST(
      w.client.get("/api/v1/products/" + std::to_string(product_id)).json()["image"].is_null());
  for (auto& f : files_under(w.media_dir)) {
    BOOST_TEST(f.find(".tmp-") == std::string::npos, f);
    std::ifstream in(w.media_dir + "/" + f, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_CHECK_NO_THROW(decode(bytes));
  }
  // With room again, the same upload is stored.
  auto stored = w.put_raw(path, photo, "image/jpeg", owner);
  BOOST_TEST(stored.status == 200, stored.body);
  BOOST_TEST(w.fetch(stored.json()["images"]["large"]).status == 200);
}

BOOST_AUTO_TEST_CASE(the_sweep_removes_only_what_no_row_refers_to) {
  world w(
      settings{{"WASSALLY_MEDIA_SWEEP_INTERVAL_S", "1"}, {"WASSALLY_MEDIA_SWEEP_GRACE_S", "2"}});
  auto [shop_id, owner] = w.shop();
  auto product_id = w.product(shop_id, owner);
  auto path = "/api/v1/products/" + std::to_string(product_id) + "/image";
  auto shop_path = "/api/v1/shops/" + std::to_string(shop_id) + "/image";
  auto first =
      w.put_raw(path, jpeg_of(two_halves(300, 200, {255, 0, 0}, {0, 0, 255})), "image/jpeg", owner);
  auto kept_by_shop = w.put_raw(shop_path, jpeg_of(two_halves(300, 200, {0, 255, 0}, {0, 0, 0})),
                                "image/jpeg", owner);
  auto second = w.put_raw(path, jpeg_of(two_halves(300, 200, {0, 0, 255}, {255, 255, 0})),
                          "image/jpeg", owner);
  BOOST_REQUIRE(first.status == 200 && second.status == 200 && kept_by_shop.status == 200);
  auto key_of = [](const http_response& r) {
    auto url = r.json()["image"].get<std::string>();
    return url.substr(url.find("/media/") + 7, 64);
  };
  auto replaced = key_of(first), current = key_of(second), shop_key = key_of(kept_by_shop);
  // Left behind by a write a crash interrupted, long ago (the sweep compares whole seconds:
  // a file written now would only go in a later sweep than the replaced picture).
  auto sub = w.media_dir + "/" + replaced.substr(0, 2);
  std::ofstream(sub + "/.tmp-abandoned") << "half";
  {
    utimbuf long_ago{1000, 1000};
    BOOST_REQUIRE(::utime((sub + "/.tmp-abandoned").c_str(), &long_ago) == 0);
  }
  auto has = [&](const std::string& digest) {
    for (auto& f : files_under(w.media_dir))
      if (f.find(digest) != std::string::npos) return true;
    return false;
  };
  // Two files no row names, planted: one last written long ago (goes), one "younger" than the
  // grace for as long as this test runs (stays: a row may be about to name it).
  auto plant = [&](char digit, time_t mtime) {
    auto dir = w.media_dir + "/" + std::string(2, digit);
    ::mkdir(dir.c_str(), 0755);
    auto file = dir + "/" + std::string(64, digit) + "-thumb.jpg";
    std::ofstream(file) << "x";
    utimbuf t{mtime, mtime};
    BOOST_REQUIRE(::utime(file.c_str(), &t) == 0);
    return std::string(64, digit);
  };
  auto old_orphan = plant('e', 1000);
  auto young_orphan = plant('f', ::time(nullptr) + 3600);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // Until every file due has gone (one sweep may have run before the last was planted).
  auto abandoned = replaced.substr(0, 2) + "/.tmp-abandoned";
  while ((has(replaced) || has(old_orphan) || files_under(w.media_dir).count(abandoned)) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(!has(replaced), "the replaced picture was not swept");
  BOOST_TEST(!has(old_orphan));
  BOOST_TEST(has(young_orphan));
  BOOST_TEST(!files_under(w.media_dir).count(abandoned));
  // Every rendition a row names is still there and served.
  int current_files = 0;
  for (auto& f : files_under(w.media_dir))
    if (f.find(current) != std::string::npos || f.find(shop_key) != std::string::npos)
      ++current_files;
  BOOST_TEST(current_files == 12);  // two pictures × three sizes × two encodings
  for (auto& r : {second, kept_by_shop})
    for (auto size : {"large", "medium", "thumb"})
      BOOST_TEST(w.fetch(r.json()["images"][size]).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
