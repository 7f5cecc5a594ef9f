#include "http/operator_figures.hpp"

#include <memory>

#include "http/ask.hpp"

namespace wassally::http {
namespace {

using figures_ptr = std::shared_ptr<operator_figures>;
using done_fn = std::function<void(const operator_figures&)>;

void step(const request_context& c, figures_ptr f, done_fn done, int i) {
  auto next = [c, f, done, i] { step(c, f, done, i + 1); };
  switch (i) {
    case 0:
      ask<registry_stats>(
          c, c.svc->registry, [f, next](registry_stats& x) { f->registry = x, next(); },
          stats_atom::value);
      return;
    case 1:
      ask<mailbox_survey>(
          c, c.svc->registry, [f, next](mailbox_survey& x) { f->mailboxes = x, next(); },
          mailbox_atom::value);
      return;
    case 2:
      ask<persistence_stats>(
          c, c.svc->persistence, [f, next](persistence_stats& x) { f->persistence = x, next(); },
          stats_atom::value);
      return;
    case 3:
      ask<int64_t>(
          c, c.svc->event_bus, [f, next](int64_t& x) { f->subscribers = x, next(); },
          stats_atom::value);
      return;
    case 4:
      ask<int64_t>(
          c, c.svc->event_streams, [f, next](int64_t& x) { f->streams_open = x, next(); },
          stats_atom::value);
      return;
    case 5:
      ask<int64_t>(
          c, c.svc->dispatcher, [f, next](int64_t& x) { f->pending_indexed = x, next(); },
          stats_atom::value);
      return;
    case 6:
      ask<staff_overview>(
          c, c.svc->staff_desk, [f, next](staff_overview& x) { f->overview = x, next(); },
          overview_atom::value);
      return;
    default:
      done(*f);
  }
}

}  // namespace

void gather_operator_figures(const request_context& ctx, done_fn done) {
  step(ctx, std::make_shared<operator_figures>(), std::move(done), 0);
}

}  // namespace wassally::http
