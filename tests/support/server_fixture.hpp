#pragma once
// Test databases and the server under test as a real child process.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"

namespace wassally::test {

/// WASSALLY_TEST_DATABASE_URL (set by scripts/test): a superuser URL of the throw-away cluster.
std::string admin_database_url();
/// Creates a fresh, uniquely named database; returns its URL.
std::string create_test_database(const std::string& prefix);
/// Drops the database of `url` (made by create_test_database), closing its connections.
void drop_test_database(const std::string& url);
/// A TCP port free on 127.0.0.1 right now.
uint16_t free_port();

/// The wassally binary (WASSALLY_BINARY) serving on a free loopback port with a fresh database.
/// Stopped with SIGTERM (then SIGKILL) when destroyed, and the database it made dropped; only
/// its own PID is ever signalled.
class server_process {
 public:
  struct options {
    std::map<std::string, std::string> env;
    std::vector<std::string> args{"serve"};
    std::chrono::seconds start_timeout{30};
    /// Start-up is done when this answers 200 ("/health" for a server without a database).
    std::string ready_path = "/ready";
  };
  explicit server_process(options opts);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t port() const { return port_; }
  const std::string& database_url() const { return database_url_; }
  pid_t pid() const { return pid_; }
  /// SIGKILL and reap.
  void kill_hard();
  /// SIGTERM, wait (up to 20 s), return the exit status (-1 if it had to be killed).
  int stop_and_status();
  void stop() { stop_and_status(); }
  /// Starts again with the same environment, port and database.
  void restart();
  const std::string& log_path() const { return log_path_; }
  std::string log() const;
  http_client client() const { return http_client("127.0.0.1", port_); }

 private:
  void launch();
  void wait_ready();
  options opts_;
  uint16_t port_ = 0;
  std::string database_url_;
  bool owns_database_ = false;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace wassally::test
