#pragma once
// A small blocking HTTP/1.1 client over raw sockets for tests: keep-alive, chunked bodies,
// raw bytes for hostile-input tests, and a Server-Sent Events reader. Loopback only.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace wassally::test {

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const;
  std::string header(const std::string& name) const;
};

using header_map = std::map<std::string, std::string>;

class http_client {
 public:
  http_client(std::string host, uint16_t port);
  ~http_client();
  http_client(http_client&& other) noexcept;
  http_client& operator=(http_client&& other) noexcept;
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  http_response request(const std::string& method, const std::string& target,
                        const std::string& body = "", const header_map& headers = {});
  http_response get(const std::string& target, const header_map& headers = {});
  http_response del(const std::string& target, const header_map& headers = {});
  http_response post_json(const std::string& target, const nlohmann::json& body,
                          const header_map& headers = {});
  http_response put_json(const std::string& target, const nlohmann::json& body,
                         const header_map& headers = {});
  http_response patch_json(const std::string& target, const nlohmann::json& body,
                           const header_map& headers = {});
  /// Sends bytes on a fresh connection; returns what came back until close or timeout.
  std::string raw(const std::string& bytes,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void set_bearer(std::string token) { bearer_ = std::move(token); }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  uint16_t port() const { return port_; }

 private:
  http_response once(const std::string& wire);
  void close_connection();
  std::string host_;
  uint16_t port_;
  int fd_ = -1;
  std::string bearer_;
  std::chrono::milliseconds timeout_{10000};
};

struct sse_event {
  std::string id, event, data;
};

/// One open `text/event-stream` response, read incrementally.
class sse_stream {
 public:
  sse_stream(const std::string& host, uint16_t port, const std::string& target,
             const header_map& headers = {});
  ~sse_stream();
  sse_stream(const sse_stream&) = delete;
  sse_stream& operator=(const sse_stream&) = delete;
  int status() const { return status_; }
  const std::map<std::string, std::string>& headers() const { return headers_; }
  /// The next event, or nullopt on timeout or when the stream closed.
  std::optional<sse_event> next(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }
  const std::string& last_comment() const { return last_comment_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  bool next_line(std::string& line, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  bool closed_ = false;
  std::size_t chunk_left_ = 0;
  std::string raw_;      // bytes from the socket not yet de-chunked
  std::string decoded_;  // body bytes not yet consumed as lines
  std::map<std::string, std::string> headers_;
  std::string last_comment_;
};

}  // namespace wassally::test
