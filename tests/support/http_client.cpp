#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace wassally::test {
namespace {

using clock_type = std::chrono::steady_clock;

int open_connection(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    throw std::runtime_error("only numeric IPv4 hosts: " + host);
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) +
                             " failed: " + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads more bytes into buf; returns 0 on close, -1 on timeout.
long read_some(int fd, std::string& buf, clock_type::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    char tmp[65536];
    auto n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    buf.append(tmp, static_cast<std::size_t>(n));
    return n;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

/// Parses the status line and headers in `head` (without the final CRLFCRLF).
void parse_head(const std::string& head, int& status, std::map<std::string, std::string>& headers) {
  auto eol = head.find("\r\n");
  auto status_line = head.substr(0, eol);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
    throw std::runtime_error("bad status line: " + status_line);
  status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = eol == std::string::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    auto line = head.substr(pos, end - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      headers[lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
}

/// Decodes as much chunked data from raw as is complete; returns true at the final chunk.
bool dechunk(std::string& raw, std::string& out, std::size_t& left) {
  for (;;) {
    if (left > 0) {
      auto take = std::min(left, raw.size());
      out.append(raw, 0, take);
      raw.erase(0, take);
      left -= take;
      if (left > 0) return false;
      // The CRLF after the chunk's data reads as an empty size line below.
    }
    auto eol = raw.find("\r\n");
    if (eol == std::string::npos) return false;
    auto line = raw.substr(0, eol);
    if (line.empty()) {  // CRLF after chunk data
      raw.erase(0, 2);
      continue;
    }
    auto size = std::stoul(line, nullptr, 16);
    raw.erase(0, eol + 2);
    if (size == 0) return true;
    left = size;
  }
}

}  // namespace

nlohmann::json http_response::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    throw std::runtime_error("response is not JSON (status " + std::to_string(status) +
                             "): " + body.substr(0, 500));
  }
}

std::string http_response::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

http_client::http_client(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
http_client::~http_client() { close_connection(); }
http_client::http_client(http_client&& o) noexcept
    : host_(std::move(o.host_)),
      port_(o.port_),
      fd_(o.fd_),
      bearer_(std::move(o.bearer_)),
      timeout_(o.timeout_) {
  o.fd_ = -1;
}
http_client& http_client::operator=(http_client&& o) noexcept {
  if (this != &o) {
    close_connection();
    host_ = std::move(o.host_);
    port_ = o.port_;
    fd_ = o.fd_;
    bearer_ = std::move(o.bearer_);
    timeout_ = o.timeout_;
    o.fd_ = -1;
  }
  return *this;
}

void http_client::close_connection() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

http_response http_client::once(const std::string& wire) {
  if (fd_ < 0) fd_ = open_connection(host_, port_);
  if (!send_all(fd_, wire)) throw std::runtime_error("send failed");
  auto deadline = clock_type::now() + timeout_;
  std::string buf;
  std::size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    auto n = read_some(fd_, buf, deadline);
    if (n == 0)
      throw std::runtime_error(buf.empty() ? "closed before a response" : "truncated head");
    if (n < 0) throw std::runtime_error("timed out waiting for a response");
  }
  http_response r;
  parse_head(buf.substr(0, head_end), r.status, r.headers);
  buf.erase(0, head_end + 4);
  bool keep_alive = lower(r.header("connection")) != "close";
  if (wire.rfind("HEAD ", 0) == 0) {
    // A HEAD response announces the length of what GET would send, and sends nothing.
  } else if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    std::size_t left = 0;
    while (!dechunk(buf, r.body, left)) {
      auto n = read_some(fd_, buf, deadline);
      if (n <= 0) throw std::runtime_error("chunked body ended early");
    }
  } else if (!r.header("content-length").empty()) {
    auto len = std::stoul(r.header("content-length"));
    while (buf.size() < len) {
      auto n = read_some(fd_, buf, deadline);
      if (n <= 0) throw std::runtime_error("body ended early");
    }
    r.body = buf.substr(0, len);
  } else if (r.status == 204 || r.status == 304 || r.status / 100 == 1) {
    // no body
  } else {
    while (read_some(fd_, buf, deadline) > 0) {
    }
    r.body = buf;
    keep_alive = false;
  }
  if (!keep_alive) close_connection();
  return r;
}

http_response http_client::request(const std::string& method, const std::string& target,
                                   const std::string& body, const header_map& headers) {
  std::string wire =
      method + " " + target + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) + "\r\n";
  bool has_auth = false;
  for (auto& [k, v] : headers) {
    wire += k + ": " + v + "\r\n";
    if (lower(k) == "authorization") has_auth = true;
  }
  if (!bearer_.empty() && !has_auth) wire += "Authorization: Bearer " + bearer_ + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  wire += "\r\n" + body;
  bool reused = fd_ >= 0;
  try {
    return once(wire);
  } catch (const std::exception&) {
    close_connection();
    if (!reused) throw;
    return once(wire);  // the server closed an idle keep-alive connection: retry fresh
  }
}

http_response http_client::get(const std::string& t, const header_map& h) {
  return request("GET", t, "", h);
}
http_response http_client::del(const std::string& t, const header_map& h) {
  return request("DELETE", t, "", h);
}
namespace {
header_map with_json(header_map h) {
  h.emplace("Content-Type", "application/json");
  return h;
}
}  // namespace
http_response http_client::post_json(const std::string& t, const nlohmann::json& b,
                                     const header_map& h) {
  return request("POST", t, b.dump(), with_json(h));
}
http_response http_client::put_json(const std::string& t, const nlohmann::json& b,
                                    const header_map& h) {
  return request("PUT", t, b.dump(), with_json(h));
}
http_response http_client::patch_json(const std::string& t, const nlohmann::json& b,
                                      const header_map& h) {
  return request("PATCH", t, b.dump(), with_json(h));
}

std::string http_client::raw(const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = open_connection(host_, port_);
  send_all(fd, bytes);
  std::string out;
  auto deadline = clock_type::now() + timeout;
  while (read_some(fd, out, deadline) > 0) {
  }
  ::close(fd);
  return out;
}

sse_stream::sse_stream(const std::string& host, uint16_t port, const std::string& target,
                       const header_map& headers) {
  fd_ = open_connection(host, port);
  std::string wire = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                     "\r\nAccept: text/event-stream\r\n";
  for (auto& [k, v] : headers) wire += k + ": " + v + "\r\n";
  wire += "\r\n";
  if (!send_all(fd_, wire)) throw std::runtime_error("send failed");
  auto deadline = clock_type::now() + std::chrono::seconds(10);
  std::size_t head_end;
  while ((head_end = raw_.find("\r\n\r\n")) == std::string::npos)
    if (read_some(fd_, raw_, deadline) <= 0) throw std::runtime_error("no SSE response head");
  parse_head(raw_.substr(0, head_end), status_, headers_);
  raw_.erase(0, head_end + 4);
  auto te = headers_.find("transfer-encoding");
  chunked_ = te != headers_.end() && lower(te->second).find("chunked") != std::string::npos;
  if (status_ != 200) {
    // A plain response (an error): read its body into decoded_ for inspection.
    closed_ = true;
  }
}

sse_stream::~sse_stream() {
  if (fd_ >= 0) ::close(fd_);
}

bool sse_stream::fill(clock_type::time_point deadline) {
  if (closed_ && raw_.empty()) return false;
  if (!raw_.empty() || !closed_) {
    if (raw_.empty() || (chunked_ && raw_.find("\r\n") == std::string::npos)) {
      auto n = read_some(fd_, raw_, deadline);
      if (n == 0) closed_ = true;
      if (n <= 0 && raw_.empty()) return false;
    }
  }
  if (chunked_) {
    if (dechunk(raw_, decoded_, chunk_left_)) closed_ = true;
  } else {
    decoded_ += raw_;
    raw_.clear();
  }
  return true;
}

bool sse_stream::next_line(std::string& line, clock_type::time_point deadline) {
  for (;;) {
    auto eol = decoded_.find('\n');
    if (eol != std::string::npos) {
      line = decoded_.substr(0, eol);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      decoded_.erase(0, eol + 1);
      return true;
    }
    if (clock_type::now() >= deadline) return false;
    auto before = decoded_.size();
    if (!fill(deadline) && decoded_.size() == before) return false;
    if (closed_ && decoded_.size() == before && raw_.empty()) return false;
  }
}

std::optional<sse_event> sse_stream::next(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  sse_event ev;
  bool any = false;
  std::string line;
  while (next_line(line, deadline)) {
    if (line.empty()) {
      if (any) return ev;
      continue;
    }
    if (line[0] == ':') {
      last_comment_ = line;
      continue;
    }
    auto colon = line.find(':');
    auto field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "id")
      ev.id = value;
    else if (field == "event")
      ev.event = value;
    else if (field == "data")
      ev.data += (ev.data.empty() ? "" : "\n") + value;
    any = true;
  }
  return std::nullopt;
}

}  // namespace wassally::test
