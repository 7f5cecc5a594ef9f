#pragma once
// Completing one HTTP exchange from any thread (Pistache queues the write to the connection's
// reactor), exactly once, with the API.md error shape for failures.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "protocols/errors.hpp"

namespace Pistache::Http {
class ResponseWriter;
}
namespace Pistache::Tcp {
class Peer;
class Transport;
}  // namespace Pistache::Tcp

namespace wassally::http {

/// Renders `{"error": {"code", "message", "fields"?, ...extra}}`.
nlohmann::json render_error(const api_error& e);

class http_metrics;

class responder {
 public:
  /// `keep_alive`: the connection stays open after the response (HTTP/1.1 without
  /// `Connection: close`, or HTTP/1.0 asking for keep-alive).
  responder(Pistache::Http::ResponseWriter&& writer, http_metrics* metrics, std::string method,
            bool keep_alive);
  ~responder();

  void json(int status, const nlohmann::json& body);
  void error(const api_error& e);
  void empty(int status);  // e.g. 204
  void text(int status, const std::string& body, const std::string& content_type,
            const std::map<std::string, std::string>& headers = {});

  /// A response without a body that still announces one (HEAD's `Content-Length` of what GET
  /// would send; 304's validators): written raw, since Pistache's send() always counts the body
  /// it sends. Empty `content_type`: none.
  void head_only(int status, std::size_t content_length, const std::string& content_type,
                 const std::map<std::string, std::string>& headers);

  /// Takes the connection over for a long-lived response (Server-Sent Events): the exchange
  /// counts as answered with `status` and nothing more is written by this responder. nullptr
  /// when already answered or the client left.
  std::shared_ptr<Pistache::Tcp::Peer> take_stream(int status);
  /// The transport of the reactor that owns this connection (the one that parsed the request;
  /// valid while the server runs).
  Pistache::Tcp::Transport* transport() const { return transport_; }
  void set_transport(Pistache::Tcp::Transport* t) { transport_ = t; }

  /// Headers every answer of this exchange carries (CORS), merged with the answer's own.
  void add_headers(const std::map<std::string, std::string>& headers);
  const std::map<std::string, std::string>& extra_headers() const { return extra_headers_; }

  /// The route template, for metrics ("/api/v1/me").
  void set_route(std::string route) { route_ = std::move(route); }
  bool done() const { return done_.load(); }
  /// Requests not yet answered, over the whole process (graceful shutdown waits for 0).
  static int64_t in_flight();

 private:
  bool claim();
  void send(int status, const std::string& body, const std::string& content_type,
            const std::map<std::string, std::string>& headers);
  std::unique_ptr<Pistache::Http::ResponseWriter> writer_;
  std::map<std::string, std::string> extra_headers_;
  http_metrics* metrics_;
  std::string method_;
  bool keep_alive_;
  std::string route_ = "unmatched";
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> done_{false};
  Pistache::Tcp::Transport* transport_ = nullptr;
};

using responder_ptr = std::shared_ptr<responder>;

/// Runs `work`, which answers the exchange itself; an exception it throws answers it instead:
/// an api_exception with its error, anything else as 500 internal. The one place the edge turns
/// a thrown failure into a response.
void answering_errors(responder& out, const std::function<void()>& work);

}  // namespace wassally::http
