#include "http/request_guard.hpp"

#include <pistache/http.h>
#include <pistache/peer.h>

#include <cstring>
#include <string>

namespace wassally::http {
namespace {

namespace P = Pistache::Http::Private;

/// Bytes a request may hold beyond its body before it is refused: the endpoint's buffer is
/// `max_body + 16 KiB` and Pistache reads at most 4 KiB at a time, so the refusal comes
/// before Pistache's own plain-text 413 would.
constexpr std::size_t header_allowance = 8 * 1024;

class guarded_request_parser;

/// One of Pistache's steps run under guard: its exceptions, an oversized buffer and (for the
/// body step) a bad Content-Length become the parser's refusal and end the request.
class guarded_step : public P::Step {
 public:
  guarded_step(guarded_request_parser* parser, std::unique_ptr<P::Step> inner, bool line,
               bool headers, bool body);
  P::StepId id() const override;
  P::State apply(Pistache::StreamCursor& cursor) override;

 private:
  guarded_request_parser* parser_;
  std::unique_ptr<P::Step> inner_;
  bool line_;
  bool headers_;
  bool body_;
};

class guarded_request_parser : public Pistache::Http::RequestParser {
 public:
  guarded_request_parser(std::size_t max_request_bytes, std::shared_ptr<const body_limits> limits)
      : P::ParserImpl<Pistache::Http::Request>(max_request_bytes),
        limits(std::move(limits)),
        max_body(this->limits->json_bytes) {
    for (std::size_t i = 0; i < allSteps.size(); ++i)
      allSteps[i] =
          std::make_unique<guarded_step>(this, std::move(allSteps[i]), i == 0, i == 1, i == 2);
  }
  void reset() override {
    P::ParserImpl<Pistache::Http::Request>::reset();
    refusal.reset();
    upload = false;
    max_body = limits->json_bytes;
  }

  /// Once the headers are in: the request's route decides its body limit and time limit.
  void route_known() {
    upload = limits->is_upload &&
             limits->is_upload(Pistache::Http::methodString(request.method()), request.resource());
    max_body = upload ? limits->upload_bytes : limits->json_bytes;
  }

  const std::shared_ptr<const body_limits> limits;
  /// The most the body of the request being parsed may hold.
  std::size_t max_body;
  /// Whether it is a picture upload.
  bool upload = false;
  /// Why the request just "parsed" is refused.
  std::optional<api_error> refusal;
  /// Set once a refusal was answered: everything after it on the connection is dropped.
  bool discarding = false;
};

api_error malformed(const std::string& what) { return errors::malformed_request(what); }

guarded_step::guarded_step(guarded_request_parser* parser, std::unique_ptr<P::Step> inner,
                           bool line, bool headers, bool body)
    : P::Step(&parser->request),
      parser_(parser),
      inner_(std::move(inner)),
      line_(line),
      headers_(headers),
      body_(body) {}

P::StepId guarded_step::id() const {
  // Pistache's idle check gives a body step the (long) body timeout; only uploads get it.
  if (body_ && !parser_->upload) return P::HeadersStep::Id;
  return inner_->id();
}

P::State guarded_step::apply(Pistache::StreamCursor& cursor) {
  auto refuse = [&](api_error e) {
    parser_->refusal = std::move(e);
    cursor.advance(cursor.remaining());
    return P::State::Done;
  };
  if (parser_->discarding) {
    cursor.advance(cursor.remaining());
    return P::State::Done;
  }
  if (body_) {
    if (auto cl = parser_->request.headers().tryGetRaw("Content-Length")) {
      if (auto problem = check_content_length(cl->value(), parser_->max_body))
        return refuse(*problem);
    }
  }
  P::State state;
  try {
    state = inner_->apply(cursor);
  } catch (const Pistache::Http::HttpError& e) {
    if (e.code() == 413) return refuse(errors::payload_too_large(parser_->max_body));
    return refuse(malformed(e.reason()));
  } catch (const std::exception& e) {
    return refuse(malformed(std::string("the request could not be parsed: ") + e.what()));
  }
  if (headers_ && state != P::State::Again) parser_->route_known();
  // Pistache waits for more bytes when a request line lacks its method, target or version,
  // even once the line has ended: a whole line it cannot read is malformed, now.
  if (state == P::State::Again && line_ && cursor.remaining() > 0 &&
      std::memchr(cursor.offset(), '\n', cursor.remaining()) != nullptr)
    return refuse(malformed("malformed request line"));
  if (state == P::State::Again &&
      static_cast<std::size_t>(cursor) + cursor.remaining() > parser_->max_body + header_allowance)
    return refuse(errors::payload_too_large(parser_->max_body));
  return state;
}

}  // namespace

std::optional<api_error> check_content_length(const std::string& raw, std::size_t max_body_bytes) {
  auto end = raw.find_last_not_of(" \t");
  auto digits = end == std::string::npos ? std::string() : raw.substr(0, end + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    return malformed("Content-Length must be a decimal number of bytes");
  auto first = digits.find_first_not_of('0');
  auto significant = first == std::string::npos ? 0 : digits.size() - first;
  if (significant > 18 || std::stoull(digits) > max_body_bytes)
    return errors::payload_too_large(max_body_bytes);
  return std::nullopt;
}

void install_guarded_parser(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                            std::size_t max_request_bytes,
                            std::shared_ptr<const body_limits> limits) {
  std::shared_ptr<Pistache::Http::RequestParser> parser =
      std::make_shared<guarded_request_parser>(max_request_bytes, std::move(limits));
  peer->putData(Pistache::Http::Handler::ParserData, parser);
}

guard_verdict check_parsed_request(const Pistache::Http::ResponseWriter& writer) {
  guard_verdict v;
  auto peer = writer.getPeer();
  if (!peer) return v;
  auto* parser =
      dynamic_cast<guarded_request_parser*>(Pistache::Http::Handler::getParser(peer).get());
  if (!parser) return v;
  if (parser->discarding && !parser->refusal) {
    v.drop = true;
  } else if (parser->refusal) {
    v.refusal = parser->refusal;
    parser->discarding = true;
  }
  return v;
}

}  // namespace wassally::http
