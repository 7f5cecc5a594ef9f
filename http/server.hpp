#pragma once

#include <memory>
#include <string>

#include "http/router.hpp"
#include "http/services.hpp"

namespace wassally::http {

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  int keepalive_timeout_s = 75;
  int header_timeout_s = 60;
  /// Picture uploads: the body limit of their route, and the time their request may take.
  std::size_t max_upload_body_bytes = (10 << 20) + (64 << 10);
  int upload_timeout_s = 120;
  /// Browsers of other origins (http/cors.hpp): `cors_allowed_origins` as configured.
  std::string cors_allowed_origins;
  int cors_max_age_s = 600;
  bool test_clock = false;
};

/// The Pistache endpoint serving the route table. Handlers run on Pistache's reactor threads,
/// never wait on actors, and complete responses from actor replies.
class server {
 public:
  server(server_options opts, services svc);
  ~server();
  /// Binds and serves on background threads; throws if the address is taken.
  void start();
  /// Stops taking new work (answers 503 + Connection: close) — in-flight requests complete.
  void drain();
  void stop();
  uint16_t port() const;
  const router& routes() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wassally::http
