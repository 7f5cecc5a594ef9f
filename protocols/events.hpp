#pragma once
// Publishing on the event bus (actors/event_bus.hpp): the topic follows from the event's type,
// so an event cannot be published on the wrong topic and subscribers know what they receive.

#include <caf/make_message.hpp>
#include <caf/send.hpp>
#include <utility>

#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"

namespace wassally {

/// The topic an event type is published on.
template <class Event>
struct topic_of;
template <>
struct topic_of<order_status_changed> {
  static constexpr topic value = topic::order_status;
};
template <>
struct topic_of<crew_changed> {
  static constexpr topic value = topic::crew_status;
};
template <>
struct topic_of<order_crew_location> {
  static constexpr topic value = topic::order_tracking;
};
template <>
struct topic_of<order_eta_changed> {
  static constexpr topic value = topic::order_tracking;
};
template <>
struct topic_of<order_unattended> {
  static constexpr topic value = topic::order_unattended;
};
template <>
struct topic_of<crew_offer_event> {
  static constexpr topic value = topic::crew_dispatch;
};

/// Publishes `event` on its topic (nothing when `bus` is null: tests without a bus). Sent
/// anonymously: nobody answers an event, and a typed actor may not send() to the untyped bus.
template <class Event>
void publish(const caf::actor& bus, Event event) {
  if (bus)
    caf::anon_send(bus, publish_atom::value, topic_of<Event>::value,
                   caf::make_message(std::move(event)));
}

/// Subscribes `self` to the topic of `Event`.
template <class Event, class Self>
void subscribe(Self* self, const caf::actor& bus) {
  self->send(bus, subscribe_atom::value, topic_of<Event>::value);
}

}  // namespace wassally
