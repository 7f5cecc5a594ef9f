#include "http/responder.hpp"

#include <pistache/http.h>
#include <pistache/peer.h>

#include "http/cors.hpp"
#include "http/metrics.hpp"

namespace wassally::http {
namespace {
std::atomic<int64_t> open_requests{0};

/// Pistache writes only typed headers; this one carries any name and value (Retry-After, ...).
class named_header : public Pistache::Http::Header::Header {
 public:
  named_header(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return std::hash<std::string>{}(name_); }
#endif

 private:
  std::string name_;
  std::string value_;
};
}  // namespace

nlohmann::json render_error(const api_error& e) {
  nlohmann::json err = {{"code", e.code}, {"message", e.message}};
  if (!e.fields.empty()) err["fields"] = e.fields;
  for (auto& [k, v] : e.extra) err[k] = v;
  for (auto& [k, v] : e.extra_text) err[k] = v;
  return {{"error", err}};
}

void answering_errors(responder& out, const std::function<void()>& work) {
  try {
    work();
  } catch (const api_exception& e) {
    out.error(e.error);
  } catch (const std::exception& e) {
    out.error(errors::internal(e.what()));
  }
}

responder::responder(Pistache::Http::ResponseWriter&& writer, http_metrics* metrics,
                     std::string method, bool keep_alive)
    : writer_(std::make_unique<Pistache::Http::ResponseWriter>(std::move(writer))),
      metrics_(metrics),
      method_(std::move(method)),
      keep_alive_(keep_alive),
      started_(std::chrono::steady_clock::now()) {
  ++open_requests;
}

responder::~responder() {
  // An exchange nobody answered (a bug) still gets an answer rather than a hung connection.
  if (!done_.load()) error(errors::internal("the request was dropped"));
}

int64_t responder::in_flight() { return open_requests.load(); }

bool responder::claim() {
  bool expected = false;
  return done_.compare_exchange_strong(expected, true);
}

void responder::add_headers(const std::map<std::string, std::string>& headers) {
  merge_headers(extra_headers_, headers);
}

void responder::send(int status, const std::string& body, const std::string& content_type,
                     const std::map<std::string, std::string>& own_headers) {
  if (!claim()) return;
  auto headers = own_headers;
  merge_headers(headers, extra_headers_);
  if (!content_type.empty())
    writer_->headers().add<Pistache::Http::Header::ContentType>(
        Pistache::Http::Mime::MediaType::fromString(content_type));
  for (auto& [name, value] : headers)
    writer_->headers().add(std::make_shared<named_header>(name, value));
  // HTTP/1.1 connections persist unless the client said otherwise; Pistache closes every
  // connection whose response does not say Keep-Alive.
  if (keep_alive_ && writer_->headers().remove<Pistache::Http::Header::Connection>())
    writer_->headers().add<Pistache::Http::Header::Connection>(
        Pistache::Http::ConnectionControl::KeepAlive);
  writer_->send(static_cast<Pistache::Http::Code>(status), body);
  if (metrics_) {
    auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    metrics_->observe(route_, method_, status, seconds);
  }
  --open_requests;
}

void responder::json(int status, const nlohmann::json& body) {
  send(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
       "application/json", {});
}

void responder::error(const api_error& e) {
  std::map<std::string, std::string> headers;
  if (auto it = e.extra.find("retry_after"); it != e.extra.end())
    headers["Retry-After"] = std::to_string(it->second);
  send(e.status, render_error(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
       "application/json", headers);
}

std::shared_ptr<Pistache::Tcp::Peer> responder::take_stream(int status) {
  if (!claim()) return nullptr;
  std::shared_ptr<Pistache::Tcp::Peer> peer;
  try {
    peer = writer_->peer();
  } catch (const std::exception&) {
    peer = nullptr;  // the client is gone
  }
  if (metrics_) metrics_->observe(route_, method_, status, 0);
  --open_requests;
  return peer;
}

void responder::head_only(int status, std::size_t content_length, const std::string& content_type,
                          const std::map<std::string, std::string>& own_headers) {
  auto peer = take_stream(status);
  auto headers = own_headers;
  merge_headers(headers, extra_headers_);
  if (!peer) return;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     (status == 304   ? "Not Modified"
                      : status == 200 ? "OK"
                                      : "Status") +
                     "\r\n";
  if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
  for (auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  if (status != 304) head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += keep_alive_ ? "Connection: Keep-Alive\r\n\r\n" : "Connection: close\r\n\r\n";
  peer->send(Pistache::RawBuffer(head, head.size()));
}

void responder::empty(int status) { send(status, "", "", {}); }

void responder::text(int status, const std::string& body, const std::string& content_type,
                     const std::map<std::string, std::string>& headers) {
  send(status, body, content_type, headers);
}

}  // namespace wassally::http
