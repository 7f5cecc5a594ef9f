// API.md "Operators: actor inspection": live actors by kind with their mailboxes, persistence
// and event-bus figures, and one live actor's state — serialised by cereal from the state type
// the actor itself answers with (the same serialisation used for messages).
#include "http/ask.hpp"
#include "http/operator_figures.hpp"
#include "http/routes.hpp"
#include "protocols/cluster.hpp"
#include "protocols/inspection.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {

void add_admin_routes(router& r) {
  r.add(
      "GET", "/api/v1/admin/actors", staff_only,
      [](request_context& ctx) {
        auto c = ctx;
        gather_operator_figures(ctx, [c](const operator_figures& f) {
          nlohmann::json kinds = nlohmann::json::object();
          for (auto& k : f.registry.kinds)
            kinds[k.kind] = {{"live", k.live},
                             {"activations", k.activations},
                             {"passivated_total", k.passivations}};
          for (auto& m : f.mailboxes.kinds) {
            kinds[m.kind]["mailbox_max"] = m.max;
            kinds[m.kind]["mailbox_total"] = m.total;
            kinds[m.kind]["mailbox_unanswered"] = m.unanswered;
            kinds[m.kind]["mailbox_not_asked"] = m.not_asked;
          }
          const auto& ps = f.persistence;
          double avg =
              ps.batches ? static_cast<double>(ps.commands) / static_cast<double>(ps.batches) : 0.0;
          c.out->json(200, {{"kinds", kinds},
                            {"persistence",
                             {{"queue_depth", ps.queue_depth},
                              {"batches", ps.batches},
                              {"commands", ps.commands},
                              {"avg_batch_size", avg},
                              {"failed_batches", ps.failed_batches},
                              {"merged_commands", ps.merged_commands},
                              {"workers", ps.workers},
                              {"busy_workers", ps.busy_workers}}},
                            {"event_bus", {{"subscribers", f.subscribers}}},
                            {"event_streams", {{"open", f.streams_open}}},
                            {"dispatcher", {{"pending_orders", f.pending_indexed}}}});
        });
      },
      "Live actors by kind with mailbox sizes; persistence and event-bus figures");
  r.add(
      "GET", "/api/v1/admin/actors/{kind}/{id}", staff_only,
      [](request_context& ctx) {
        auto kind = ctx.params.at("kind");
        auto parsed = entity_kind_named(kind);
        if (!parsed) throw api_exception(errors::not_found("no actor kind " + kind));
        auto id = ctx.id_param("id");
        auto c = ctx;
        ask<actor_state>(
            ctx, ctx.svc->registry,
            [c, kind, id](actor_state& st) {
              auto state = nlohmann::json::parse(st.json)["state"];
              c.out->json(200, {{"kind", kind}, {"id", id}, {"state", state}});
            },
            inspect_atom::value, entity_key{*parsed, id});
      },
      "A live actor's state (404 if not live; nothing is activated). Cluster mode: asked of the "
      "node that serves its shard (over NATS), or 503 not_owner naming that node without NATS");
  r.add(
      "GET", "/api/v1/admin/cluster", staff_only,
      [](request_context& ctx) {
        cluster_snapshot s;
        if (ctx.svc->cluster) s = ctx.svc->cluster->get();
        nlohmann::json leases = nlohmann::json::array();
        for (auto& l : s.leases)
          leases.push_back({{"shard", l.shard},
                            {"node", l.node.empty() ? nlohmann::json() : nlohmann::json(l.node)},
                            {"epoch", l.epoch},
                            {"expires_in_ms", l.expires_in_ms}});
        nlohmann::json nodes = nlohmann::json::array();
        for (auto& n : s.nodes)
          nodes.push_back({{"node", n.node}, {"url", n.url}, {"live", n.live}});
        ctx.out->json(200, {{"mode", s.mode},
                            {"node", s.node},
                            {"shards", s.shards},
                            {"lease_ttl_ms", s.lease_ttl_ms},
                            {"held", s.held},
                            {"leases", leases},
                            {"nodes", nodes},
                            {"rounds", s.rounds},
                            {"failed_rounds", s.failed_rounds},
                            {"claimed", s.claimed},
                            {"released", s.released},
                            {"lost", s.lost},
                            {"last_error", s.last_error},
                            {"routing",
                             {{"state", s.routing},
                              {"forwarded", s.forwarded},
                              {"fallbacks", s.forward_fallbacks},
                              {"timeouts", s.forward_timeouts},
                              {"served_for_others", s.served_for_others},
                              {"events_out", s.events_out},
                              {"events_in", s.events_in}}}});
      },
      "Cluster mode: this node's shards, every lease and node as its last lease round read "
      "them from PostgreSQL (mode single: none)");
}

}  // namespace wassally::http
