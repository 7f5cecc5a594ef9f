#pragma once
// Asking an actor on behalf of a request: the request's deadline goes along, and the reply (or
// the failure) completes the exchange. No thread waits for the answer.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <chrono>
#include <string>
#include <utility>

#include "http/pagination.hpp"
#include "http/request_context.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {

/// How much longer than the request deadline the edge waits for an actor's answer: a command
/// still queued for the database at the deadline is answered `504 not_written` by then.
inline constexpr std::chrono::milliseconds answer_grace{250};

/// The 504 for a request whose answer did not come in time: reads wrote nothing; a mutation
/// may still commit.
inline api_error edge_timeout(const std::string& method) {
  return errors::timeout(method == "GET" || method == "HEAD" ? "not_written" : "unknown");
}

/// Sends `msg...` to `target` with the request deadline and completes the exchange from the
/// reply: `on_reply` gets the reply of type `Reply`; any error (the actor's api_error, a timeout →
/// 504, a dead actor → 503) is rendered to the client. No thread waits: a one-shot actor awaits the
/// reply and runs the continuation.
template <class Reply, class OnReply, class... Ts>
void ask(const request_context& ctx, const caf::actor& target, OnReply on_reply, Ts&&... msg) {
  auto out = ctx.out;
  auto timeout = ctx.svc->timeout + answer_grace;
  auto method = ctx.method;
  ctx.svc->system->spawn([=](caf::event_based_actor* self) {
    self->request(target, timeout, msg...)
        .then([=](Reply& reply) { answering_errors(*out, [&] { on_reply(reply); }); },
              [=](caf::error& err) {
                auto e = from_caf_error(err);
                if (e.code == "timeout" && err.category() == caf::atom("system"))
                  e = edge_timeout(method);
                out->error(e);
              });
  });
}

/// ask<Page>() for a paginated list: the reply's `results` are rendered one by one with
/// `render` and answered as `{count, next, previous, results}` (API.md "Lists are paginated").
template <class Page, class Render, class... Ts>
void ask_page(const request_context& ctx, const page_request& page, const caf::actor& target,
              Render render, Ts&&... msg) {
  auto c = ctx;
  ask<Page>(
      ctx, target,
      [c, page, render](Page& p) {
        auto results = nlohmann::json::array();
        for (auto& item : p.results) results.push_back(render(item));
        c.out->json(200, paginate(p.count, results, page, c.host, c.path, c.query));
      },
      std::forward<Ts>(msg)...);
}

}  // namespace wassally::http
