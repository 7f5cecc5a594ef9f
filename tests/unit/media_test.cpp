// media/ and the edge's picture helpers without a server: signature sniffing, the store's
// files, the bounded pool, the per-user upload rate and the rendition cache.
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "http/media_cache.hpp"
#include "media/image_pipeline.hpp"
#include "media/media_store.hpp"
#include "media/work_pool.hpp"
#include "protocols/errors.hpp"

using namespace wassally;
using namespace wassally::media;
using namespace std::string_view_literals;

namespace {
std::string temp_dir() {
  char tmpl[] = "/tmp/wassally-media-unit-XXXXXX";
  auto* d = ::mkdtemp(tmpl);
  BOOST_REQUIRE(d);
  return d;
}
processed_picture fake_picture(char fill) {
  processed_picture p;
  p.digest = std::string(64, fill);
  for (auto& size : rendition_sizes) p.renditions.push_back({size.name, 1, 1, "webp", "jpeg"});
  return p;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(media_suite)

BOOST_AUTO_TEST_CASE(the_bytes_say_what_a_picture_is) {
  BOOST_TEST(int(sniff_format("\xFF\xD8\xFF\xE0 rest")) == int(image_format::jpeg));
  BOOST_TEST(int(sniff_format("\x89PNG\r\n\x1A\n....")) == int(image_format::png));
  BOOST_TEST(int(sniff_format("RIFF\x10\0\0\0WEBPVP8 "sv)) == int(image_format::webp));
  for (std::string other :
       std::vector<std::string>{"%PDF-1.4", "<svg xmlns=", "GIF89a",
                                std::string("RIFF\x10\0\0\0AVI ", 12), "", "\xFF\xD8", "BM......"})
    BOOST_TEST(int(sniff_format(other)) == int(image_format::unknown), other);
  BOOST_CHECK_THROW(process_picture("%PDF-1.4 trailer", {}), api_exception);
  try {
    process_picture("<svg/>", {});
  } catch (const api_exception& e) {
    BOOST_TEST(e.error.status == 415);
  }
}

BOOST_AUTO_TEST_CASE(media_keys_are_a_digest_and_a_size) {
  auto digest = std::string(64, 'a');
  BOOST_TEST(valid_media_key(digest + "-large"));
  BOOST_TEST(valid_media_key(digest + "-thumb"));
  BOOST_TEST(!valid_media_key(digest + "-huge"));
  BOOST_TEST(!valid_media_key(std::string(64, 'A') + "-large"));
  BOOST_TEST(!valid_media_key("../../etc/passwd"));
  BOOST_TEST(!valid_media_key(digest.substr(1) + "-large"));
}

BOOST_AUTO_TEST_CASE(the_store_writes_whole_files_and_lists_and_removes_them) {
  auto root = temp_dir() + "/nested/media";
  directory_store store(root);
  store.put(fake_picture('b'));
  auto key = std::string(64, 'b') + "-medium";
  BOOST_REQUIRE(store.read(key, encoding::webp));
  BOOST_TEST(*store.read(key, encoding::webp) == "webp");
  BOOST_TEST(*store.read(key, encoding::jpeg) == "jpeg");
  BOOST_TEST(!store.read(std::string(64, 'c') + "-medium", encoding::jpeg));
  BOOST_TEST(store.list().size() == 3u);
  // A temporary a crash left behind goes once old enough; a young one stays.
  auto dir = root + "/bb";
  std::ofstream(dir + "/.tmp-old") << "x";
  std::ofstream(dir + "/.tmp-young") << "x";
  utimbuf old{1000, 1000};
  BOOST_REQUIRE(::utime((dir + "/.tmp-old").c_str(), &old) == 0);
  BOOST_TEST(store.remove_abandoned_writes(2000) == 1u);
  BOOST_TEST(::access((dir + "/.tmp-young").c_str(), F_OK) == 0);
  store.remove(key);
  BOOST_TEST(!store.read(key, encoding::webp));
  BOOST_TEST(store.list().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_store_it_cannot_write_is_503) {
  auto root = temp_dir();
  directory_store store(root);
  BOOST_REQUIRE(::chmod(root.c_str(), 0500) == 0);
  if (::geteuid() == 0) {
    // root ignores directory permissions: a file in the way of the shard directory instead.
    BOOST_REQUIRE(::chmod(root.c_str(), 0755) == 0);
    std::ofstream(root + "/dd") << "not a directory";
  }
  try {
    store.put(fake_picture('d'));
    BOOST_FAIL("stored into an unwritable store");
  } catch (const api_exception& e) {
    BOOST_TEST(e.error.status == 503);
    BOOST_TEST(e.error.code == "unavailable");
    BOOST_TEST(e.error.extra.count("retry_after") == 1u);
  }
}

BOOST_AUTO_TEST_CASE(the_pool_admits_at_most_its_capacity) {
  work_pool pool(1, 2);
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  int done = 0;
  auto job = [&] {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return release; });
    ++done;
  };
  BOOST_TEST(pool.try_submit(job));
  BOOST_TEST(pool.try_submit(job));
  BOOST_TEST(!pool.try_submit(job));  // one running, one waiting: full
  BOOST_TEST(pool.load() == 2u);
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && pool.load() > 0; ++i) ::usleep(10000);
  BOOST_TEST(pool.load() == 0u);
  BOOST_TEST(done == 2);
  BOOST_TEST(pool.try_submit([] { throw std::runtime_error("a job that throws"); }));
  for (int i = 0; i < 200 && pool.load() > 0; ++i) ::usleep(10000);
  BOOST_TEST(pool.try_submit([] {}));  // the thread survived
}

BOOST_AUTO_TEST_CASE(uploads_per_user_refill_over_the_minute) {
  http::upload_rate_limit rate(2);
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(rate.take(1, t0) == 0);
  BOOST_TEST(rate.take(1, t0) == 0);
  auto wait = rate.take(1, t0);
  BOOST_TEST(wait >= 29);
  BOOST_TEST(wait <= 30);
  BOOST_TEST(rate.take(2, t0) == 0);  // another user
  BOOST_TEST(rate.take(1, t0 + std::chrono::seconds(31)) == 0);
}

BOOST_AUTO_TEST_CASE(the_rendition_cache_is_bounded_in_bytes) {
  http::media_cache cache(8 * 1000);  // 1000 bytes per shard
  auto bytes = std::make_shared<const std::string>(600, 'x');
  cache.store("a", bytes);
  BOOST_TEST(cache.find("a") == bytes);
  BOOST_TEST(cache.bytes() == 600u);
  cache.store("big", std::make_shared<const std::string>(2000, 'y'));  // over a shard: not kept
  BOOST_TEST(!cache.find("big"));
  for (int i = 0; i < 100; ++i)
    cache.store("k" + std::to_string(i), std::make_shared<const std::string>(600, 'z'));
  BOOST_TEST(cache.bytes() <= 8000u);
}

BOOST_AUTO_TEST_SUITE_END()
