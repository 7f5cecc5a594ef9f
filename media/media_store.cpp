#include "media/media_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <random>

#include "protocols/errors.hpp"

namespace wassally::media {
namespace {

const char* extension(encoding e) { return e == encoding::webp ? ".webp" : ".jpg"; }

api_error store_failure(const std::string& what, int error_number) {
  auto e = errors::unavailable("the picture could not be stored (" + what + ": " +
                               std::strerror(error_number) + ")");
  e.extra["retry_after"] = 30;
  return e;
}

void make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    throw api_exception(store_failure("mkdir " + path, errno));
}

void fsync_directory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw api_exception(store_failure("open " + path, errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw api_exception(store_failure("fsync " + path, err));
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char hex[] = "0123456789abcdef";
  std::string s;
  auto v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) s += hex[v & 15];
  return s;
}

/// Writes `bytes` to `final_path` through a temporary file in `dir`: the final name either
/// does not change or names the whole, synced file.
void write_atomically(const std::string& dir, const std::string& final_path,
                      const std::string& bytes) {
  auto tmp = dir + "/.tmp-" + random_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw api_exception(store_failure("create " + tmp, errno));
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw api_exception(store_failure(what, err));
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write " + tmp);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync " + tmp);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw api_exception(store_failure("close " + tmp, err));
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw api_exception(store_failure("rename " + tmp, err));
  }
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// Calls `visit(path, stat)` for every file in the shard directories (`<root>/<2 hex>/`).
template <class Visit>
void for_each_file(const std::string& root, Visit visit) {
  DIR* top = ::opendir(root.c_str());
  if (!top) return;
  while (auto* sub = ::readdir(top)) {
    std::string name = sub->d_name;
    if (name.size() != 2 || !is_hex(name[0]) || !is_hex(name[1])) continue;
    auto dir_path = root + "/" + name;
    DIR* dir = ::opendir(dir_path.c_str());
    if (!dir) continue;
    while (auto* f = ::readdir(dir)) {
      auto path = dir_path + "/" + f->d_name;
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) visit(path, st);
    }
    ::closedir(dir);
  }
  ::closedir(top);
}

}  // namespace

bool valid_media_key(std::string_view key) {
  if (key.size() < 66 || key[64] != '-') return false;
  for (std::size_t i = 0; i < 64; ++i)
    if (!is_hex(key[i])) return false;
  auto name = key.substr(65);
  for (auto& size : rendition_sizes)
    if (name == size.name) return true;
  return false;
}

std::string media_key(const std::string& digest, const std::string& rendition_name) {
  return digest + "-" + rendition_name;
}

directory_store::directory_store(std::string root) : root_(std::move(root)) {
  // Parent directories too (var/media under a fresh checkout).
  std::string path;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = root_.find('/', pos + 1);
    path = root_.substr(0, pos);
    if (!path.empty()) make_directory(path);
  }
}

std::string directory_store::path_of(const std::string& key, encoding e) const {
  return root_ + "/" + key.substr(0, 2) + "/" + key + extension(e);
}

void directory_store::put(const processed_picture& p) {
  auto dir = root_ + "/" + p.digest.substr(0, 2);
  make_directory(dir);
  for (auto& r : p.renditions) {
    auto key = media_key(p.digest, r.name);
    write_atomically(dir, path_of(key, encoding::webp), r.webp);
    write_atomically(dir, path_of(key, encoding::jpeg), r.jpeg);
  }
  fsync_directory(dir);
}

std::shared_ptr<const std::string> directory_store::read(const std::string& key, encoding e) const {
  if (!valid_media_key(key)) return nullptr;
  int fd = ::open(path_of(key, e).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != bytes.size()) return nullptr;
  return std::make_shared<const std::string>(std::move(bytes));
}

std::vector<media_store::entry> directory_store::list() const {
  std::map<std::string, int64_t> oldest;  // a key's age is its older file's
  for_each_file(root_, [&](const std::string& file, const struct stat& st) {
    auto name = file.substr(file.rfind('/') + 1);
    auto dot = name.rfind('.');
    if (dot == std::string::npos || !valid_media_key(name.substr(0, dot))) return;
    auto key = name.substr(0, dot);
    auto& t = oldest.try_emplace(key, st.st_mtime).first->second;
    if (st.st_mtime < t) t = st.st_mtime;
  });
  std::vector<entry> out;
  for (auto& [key, t] : oldest) out.push_back({key, t});
  return out;
}

void directory_store::remove(const std::string& key) {
  if (!valid_media_key(key)) return;
  ::unlink(path_of(key, encoding::webp).c_str());
  ::unlink(path_of(key, encoding::jpeg).c_str());
}

std::size_t directory_store::remove_abandoned_writes(int64_t before_unix_s) {
  std::size_t removed = 0;
  for_each_file(root_, [&](const std::string& file, const struct stat& st) {
    if (file.substr(file.rfind('/') + 1).rfind(".tmp-", 0) == 0 && st.st_mtime < before_unix_s &&
        ::unlink(file.c_str()) == 0)
      ++removed;
  });
  return removed;
}

}  // namespace wassally::media
