#pragma once
// The entity actors' protocols as types the compiler checks (caf::typed_actor).
//
// Each entity kind (order, shop, crew, cart) has an interface listing every message it handles
// and what it answers. The actor's behaviour is that interface's `behavior_type`, so a handler
// missing, extra or answering the wrong type does not compile; and senders address an entity
// through an `entity_ref<Interface>`, so a message the entity does not handle, or a reply read
// as the wrong type, does not compile either.
//
// Senders do not hold the entity's actor handle: messages go through the registry, which
// activates the entity on first use and holds messages while it passivates (a handle handed
// out could name an actor that is quitting). The registry forwards a (key, message) pair
// unchanged; the check happens here, at the sender, against the same interface the entity's
// behaviour is checked against. See ARCHITECTURE.md.

#include <caf/make_message.hpp>
#include <caf/replies_to.hpp>
#include <caf/response_type.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "protocols/analytics.hpp"
#include "protocols/catalog.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/inspection.hpp"
#include "protocols/orders.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally {

/// What every entity actor answers: its state for operators and its mailbox size for surveys;
/// and `release_atom` from the registry (cluster mode: its shard has drained).
using entity_actor =
    caf::typed_actor<caf::replies_to<state_atom>::with<actor_state>,
                     caf::replies_to<mailbox_atom>::with<int64_t>, caf::reacts_to<release_atom>>;

/// actors/order.hpp.
/// (reload_atom: anti-entropy found news about the order; it reloads from PostgreSQL.
///  crew_moved: from its crew; crew_location_flush_atom, eta_flush_atom: its own throttle
///  timers.)
using order_actor = entity_actor::extend<
    caf::reacts_to<reload_atom>, caf::replies_to<get_order>::with<order_record>,
    caf::replies_to<view_pending_order>::with<order_record>,
    caf::replies_to<get_order_history>::with<order_history>,
    caf::replies_to<watch_order>::with<order_watch>,
    caf::replies_to<order_action>::with<order_record>, caf::reacts_to<crew_moved>,
    caf::reacts_to<crew_location_flush_atom>, caf::reacts_to<eta_flush_atom>>;

/// actors/shop.hpp.
/// (reload_atom: anti-entropy or a refused placement found its stock differs from PostgreSQL, or
/// an order found its delivery committed unheard of; the shop reloads its row and catalog.)
/// (shop_orders_confirmed: an order with lines of this shop was delivered: the new count.)
/// (place_order: cluster mode, an order whose first line is this shop's is placed on this
///  shop's node, where the order will live, CLUSTER.md "Shard key".)
using shop_actor = entity_actor::extend<
    caf::reacts_to<reload_atom>, caf::replies_to<get_shop>::with<shop_record>,
    caf::replies_to<patch_shop>::with<shop_record>,
    caf::replies_to<check_picture_access>::with<done>,
    caf::replies_to<list_product_categories>::with<product_category_list>,
    caf::replies_to<save_product_category>::with<product_category>,
    caf::replies_to<delete_product_category>::with<done>,
    caf::replies_to<list_products>::with<product_page>,
    caf::replies_to<get_product>::with<product_record>,
    caf::replies_to<save_product>::with<product_record>,
    caf::replies_to<delete_product>::with<done>, caf::replies_to<list_offers>::with<offer_list>,
    caf::replies_to<save_offer>::with<offer_record>, caf::replies_to<delete_offer>::with<done>,
    caf::replies_to<quote_products>::with<product_quotes>,
    caf::replies_to<reserve_stock>::with<product_quotes>, caf::reacts_to<commit_reservation>,
    caf::reacts_to<release_reservation>, caf::reacts_to<stock_returned>,
    caf::reacts_to<shop_orders_confirmed>,
    caf::replies_to<reconcile_stock>::with<reconcile_outcome>,
    caf::replies_to<analytics_query>::with<analytics_reply>,
    caf::replies_to<create_delivery_request>::with<order_placed>,
    caf::replies_to<place_order>::with<order_placed>>;

/// actors/crew.hpp.
/// (get_crew_offer, decline_offer: the crew's offers are made by the dispatcher of the node that
///  serves the crew, CLUSTER.md "Dispatch"; the crew hands them to it.)
using crew_actor =
    entity_actor::extend<caf::replies_to<set_crew_location>::with<done>,
                         caf::replies_to<set_crew_status>::with<crew_record>,
                         caf::replies_to<crew_pending_query>::with<pending_page>,
                         caf::replies_to<claim_crew_slot>::with<done>,
                         caf::reacts_to<crew_slot_outcome>, caf::reacts_to<crew_order_finished>,
                         caf::replies_to<reconcile_holdings>::with<reconcile_outcome>,
                         caf::replies_to<get_crew_offer>::with<open_offer>,
                         caf::replies_to<decline_offer>::with<done>>;

/// actors/cart.hpp.
using cart_actor =
    entity_actor::extend<caf::replies_to<get_cart>::with<cart_view>,
                         caf::replies_to<add_cart_item>::with<cart_item_reply>,
                         caf::replies_to<set_cart_item>::with<cart_item_reply>,
                         caf::replies_to<remove_cart_item>::with<done>,
                         caf::replies_to<checkout_atom, place_order>::with<order_placed>>;

/// The kind whose actors implement `Interface`.
template <class Interface>
struct kind_of;
template <>
struct kind_of<order_actor> : std::integral_constant<entity_kind, entity_kind::order> {};
template <>
struct kind_of<shop_actor> : std::integral_constant<entity_kind, entity_kind::shop> {};
template <>
struct kind_of<crew_actor> : std::integral_constant<entity_kind, entity_kind::crew> {};
template <>
struct kind_of<cart_actor> : std::integral_constant<entity_kind, entity_kind::cart> {};

/// Whether `Interface` handles the message `Ts...`.
template <class Interface, class... Ts>
inline constexpr bool handles_v =
    caf::response_type<typename Interface::signatures, std::decay_t<Ts>...>::valid;

/// The reply of `Interface` to the message `Ts...` (a caf::detail::type_list; empty: none).
template <class Interface, class... Ts>
using reply_of_t =
    typename caf::response_type<typename Interface::signatures, std::decay_t<Ts>...>::type;

/// Whether the reply of `Interface` to `Ts...` is one value of type `Reply`.
template <class Reply, class Interface, class... Ts>
inline constexpr bool replies_with_v =
    std::is_same_v<reply_of_t<Interface, Ts...>, caf::detail::type_list<Reply>>;

/// An entity addressed through the registry, typed by the interface its actor implements.
template <class Interface>
struct entity_ref {
  caf::actor registry;
  int64_t id = 0;

  entity_key key() const { return {kind_of<Interface>::value, id}; }
};

inline entity_ref<order_actor> order_ref(caf::actor registry, int64_t id) {
  return {std::move(registry), id};
}
inline entity_ref<shop_actor> shop_ref(caf::actor registry, int64_t id) {
  return {std::move(registry), id};
}
inline entity_ref<crew_actor> crew_ref(caf::actor registry, int64_t id) {
  return {std::move(registry), id};
}
inline entity_ref<cart_actor> cart_ref(caf::actor registry, int64_t id) {
  return {std::move(registry), id};
}

/// Sends `msg...` to the entity `to` (activating it), expecting no reply. Sent anonymously: no
/// reply goes back, and typed actors may not send() to the (untyped) registry. Messages from one
/// thread still arrive in the order sent.
template <class Interface, class... Ts>
void tell(const entity_ref<Interface>& to, Ts&&... msg) {
  static_assert(handles_v<Interface, Ts...>, "the entity's interface does not handle this message");
  caf::anon_send(to.registry, to.key(), caf::make_message(std::forward<Ts>(msg)...));
}

/// A request to an entity whose continuation must take the interface's reply type (nothing,
/// when the interface's answer is empty: the reply then only says the entity handled it).
template <class Reply, class Handle>
class entity_response {
 public:
  explicit entity_response(Handle h) : handle_(std::move(h)) {}

  template <class OnReply, class OnError>
  void then(OnReply on_reply, OnError on_error) {
    check<OnReply>();
    handle_.then(std::move(on_reply), std::move(on_error));
  }

  template <class OnReply, class OnError>
  void await(OnReply on_reply, OnError on_error) {
    check<OnReply>();
    handle_.await(std::move(on_reply), std::move(on_error));
  }

 private:
  template <class OnReply>
  static constexpr void check() {
    if constexpr (std::is_void_v<Reply>)
      static_assert(std::is_invocable_v<OnReply>, "the entity answers this with no value");
    else
      static_assert(std::is_invocable_v<OnReply, Reply&>,
                    "the continuation does not take the entity's reply type");
  }

  Handle handle_;
};

/// The one value (or nothing: void) `Interface` answers to `Ts...`.
template <class Interface, class... Ts>
struct single_reply {
  static_assert(handles_v<Interface, Ts...>, "the entity's interface does not handle this message");
  using list = reply_of_t<Interface, Ts...>;
  static_assert(caf::detail::tl_size<list>::value <= 1, "entities answer with one value");
  using type = std::conditional_t<caf::detail::tl_size<list>::value == 0, void,
                                  typename caf::detail::tl_head<list>::type>;
};

/// Asks the entity `to` (activating it); the reply type comes from the interface.
template <class Self, class Interface, class Timeout, class... Ts>
auto ask_entity(Self* self, const entity_ref<Interface>& to, Timeout timeout, Ts&&... msg) {
  using reply = typename single_reply<Interface, Ts...>::type;
  auto handle =
      self->request(to.registry, timeout, to.key(), caf::make_message(std::forward<Ts>(msg)...));
  return entity_response<reply, decltype(handle)>(std::move(handle));
}

}  // namespace wassally
