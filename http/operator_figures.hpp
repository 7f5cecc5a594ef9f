#pragma once
// Figures of the service actors that /metrics and /api/v1/admin/actors both show.

#include <functional>

#include "http/request_context.hpp"
#include "protocols/crews.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {

struct operator_figures {
  registry_stats registry;
  mailbox_survey mailboxes;
  persistence_stats persistence;
  int64_t subscribers = 0;      // event bus
  int64_t streams_open = 0;     // SSE hub
  int64_t pending_indexed = 0;  // dispatcher
  staff_overview overview;      // orders by status, crews
};

/// Asks each service actor in turn (each with the request's deadline; a failure answers the
/// request with its error) and calls `done` with all figures.
void gather_operator_figures(const request_context& ctx,
                             std::function<void(const operator_figures&)> done);

}  // namespace wassally::http
