#pragma once
// ask() addressed to an entity actor through the registry, checked against its typed interface.

#include <type_traits>
#include <utility>

#include "http/ask.hpp"
#include "protocols/entity_interfaces.hpp"

namespace wassally::http {

/// ask<Reply>() to the entity `to`: a compile error unless its interface handles `msg...` and
/// answers it with `Reply`.
template <class Reply, class Interface, class OnReply, class... Ts>
void ask(const request_context& ctx, const entity_ref<Interface>& to, OnReply on_reply,
         Ts&&... msg) {
  static_assert(handles_v<Interface, Ts...>, "the entity's interface does not handle this message");
  static_assert(replies_with_v<Reply, Interface, Ts...>,
                "the entity answers this message with another type");
  ask<Reply>(ctx, to.registry, std::move(on_reply), to.key(),
             caf::make_message(std::forward<Ts>(msg)...));
}

/// ask_page<Page>() to the entity `to`, checked as ask() above.
template <class Page, class Interface, class Render, class... Ts>
void ask_page(const request_context& ctx, const page_request& page, const entity_ref<Interface>& to,
              Render render, Ts&&... msg) {
  static_assert(handles_v<Interface, Ts...>, "the entity's interface does not handle this message");
  static_assert(replies_with_v<Page, Interface, Ts...>,
                "the entity answers this message with another type");
  ask_page<Page>(ctx, page, to.registry, std::move(render), to.key(),
                 caf::make_message(std::forward<Ts>(msg)...));
}

/// ask<Reply>() to the shop actor owning product (`lookup` shop_of_atom) or offer
/// (offer_shop_atom) `id`: the shop directory names the shop (cached), then the shop answers.
template <class Reply, class Lookup, class OnReply, class Msg>
void ask_owning_shop(const request_context& ctx, Lookup lookup, int64_t id, OnReply on_reply,
                     Msg msg) {
  auto c = ctx;
  ask<int64_t>(
      ctx, ctx.svc->shop_directory,
      [c, on_reply, msg](int64_t& shop_id) {
        ask<Reply>(c, shop_ref(c.svc->registry, shop_id), on_reply, msg);
      },
      lookup, id);
}

}  // namespace wassally::http
