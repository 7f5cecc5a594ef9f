#pragma once
// Addressing entity actors by (kind, id) through the registry, and the event bus protocol.

#include <caf/atom.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fields.hpp"

namespace wassally {

/// The kinds of entity actor, each with its typed interface in protocols/entity_interfaces.hpp.
enum class entity_kind : uint8_t { order, shop, crew, cart };

/// Every kind, for tables and surveys that cover them all.
inline constexpr entity_kind entity_kinds[] = {entity_kind::order, entity_kind::shop,
                                               entity_kind::crew, entity_kind::cart};

/// The kind's name as clients see it (`GET /admin/actors/{kind}/{id}`, metrics labels).
inline const char* to_string(entity_kind k) {
  switch (k) {
    case entity_kind::order:
      return "order";
    case entity_kind::shop:
      return "shop";
    case entity_kind::crew:
      return "crew";
    case entity_kind::cart:
      return "cart";
  }
  return "unknown";
}

/// The kind named `name`, or nothing.
inline std::optional<entity_kind> entity_kind_named(std::string_view name) {
  for (auto k : entity_kinds)
    if (name == to_string(k)) return k;
  return std::nullopt;
}

/// Names an entity actor.
struct entity_key {
  entity_kind kind = entity_kind::order;
  int64_t id = 0;

  friend bool operator==(const entity_key& a, const entity_key& b) {
    return a.id == b.id && a.kind == b.kind;
  }
  friend bool operator<(const entity_key& a, const entity_key& b) {
    return a.kind < b.kind || (a.kind == b.kind && a.id < b.id);
  }
  WASSALLY_FIELDS(entity_key, kind, id)
};

// Registry: `(entity_key, message)` routes the message to the entity (activating it);
// an entity that has been idle asks `(passivate_atom, entity_key)`; the registry answers
// `passivate_atom` and stops routing to it; the entity quits once nothing is in flight.
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
/// To the registry: `(adopt_atom, entity_key, message preload)`, see actors/registry.hpp.
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
/// An order's own reminder to publish its crew's latest position (see order_crew_location).
using crew_location_flush_atom = caf::atom_constant<caf::atom("crew_loc")>;
/// An order's own reminder to publish its latest eta (see order_eta_changed).
using eta_flush_atom = caf::atom_constant<caf::atom("eta_flush")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using shop_of_atom = caf::atom_constant<caf::atom("shop_of")>;
using offer_shop_atom = caf::atom_constant<caf::atom("offer_shop")>;
/// To an entity actor: its state, for operators (GET /admin/actors/{kind}/{id}).
using state_atom = caf::atom_constant<caf::atom("state")>;
/// To an entity actor (cluster mode): its shard was given up and has drained; it finishes what
/// is in flight and quits, and the registry routes nothing more to it.
using release_atom = caf::atom_constant<caf::atom("release")>;
/// To an entity actor: its mailbox size, answered in turn. To the registry: a survey of all.
using mailbox_atom = caf::atom_constant<caf::atom("mailbox")>;
/// To the registry: `(inspect_atom, entity_key)` → the live actor's state_atom reply, or 404
/// when it is not live (nothing is activated for an inspection).
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;

/// Live entity actors of one kind, for /admin/actors and /metrics.
struct kind_stats {
  std::string kind;
  int64_t live = 0;
  int64_t activations = 0;
  int64_t passivations = 0;
  WASSALLY_FIELDS(kind_stats, kind, live, activations, passivations)
};

/// Mailbox sizes of one kind's live actors, as they answered within the survey's deadline. A
/// survey asks at most `mailbox_survey_sample` actors of a kind (evenly spread over them):
/// `not_asked` are the rest.
struct kind_mailboxes {
  std::string kind;
  int64_t answered = 0;
  int64_t unanswered = 0;
  int64_t not_asked = 0;
  int64_t max = 0;
  int64_t total = 0;
  WASSALLY_FIELDS(kind_mailboxes, kind, answered, unanswered, not_asked, max, total)
};
constexpr std::size_t mailbox_survey_sample = 2000;

struct mailbox_survey {
  std::vector<kind_mailboxes> kinds;
  WASSALLY_FIELDS(mailbox_survey, kinds)
};

struct registry_stats {
  std::vector<kind_stats> kinds;
  WASSALLY_FIELDS(registry_stats, kinds)
};

struct persistence_stats {
  int64_t queue_depth = 0;
  int64_t batches = 0;
  int64_t commands = 0;
  int64_t failed_batches = 0;
  int64_t merged_commands = 0;  // commands written together with others of their kind
  int64_t workers = 0;
  int64_t busy_workers = 0;
  double commit_seconds_total = 0;
  // batch size histogram: counts for sizes <=1, <=2, <=4, ... <=256, +Inf
  std::vector<int64_t> batch_size_buckets;
  // commit latency histogram buckets (seconds): see persistence_actor.cpp
  std::vector<int64_t> commit_latency_buckets;
  int64_t read_workers = 0;      // of `workers`: connections that run only reads
  int64_t replaced_workers = 0;  // workers replaced because their batch hung (db_hang_timeout_ms)
  int64_t expired_commands = 0;  // commands whose deadline passed in the queue (504 not_written)
  int64_t hot_keys = 0;          // lock keys whose commands now run alone
  WASSALLY_FIELDS(persistence_stats, queue_depth, batches, commands, failed_batches,
                  merged_commands, workers, busy_workers, commit_seconds_total, batch_size_buckets,
                  commit_latency_buckets, read_workers, replaced_workers, expired_commands,
                  hot_keys)
};

// Event bus: `(subscribe_atom, topic)` from the subscriber, `(unsubscribe_atom, topic)`,
// `(publish_atom, topic, message)` fans the message out to the topic's subscribers. Publishers
// use publish() (protocols/events.hpp), which derives the topic from the event's type.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;

/// The event bus topics.
enum class topic : uint8_t {
  order_status,      // order_status_changed, after the change committed
  crew_status,       // crew_changed, after the change committed
  order_tracking,    // order_crew_location, order_eta_changed: throttled by each order
  order_unattended,  // order_unattended: an order pending for pending_alert_s
  crew_dispatch,     // crew_offer_event: offers made to crews and withdrawn, after commit
};

}  // namespace wassally
