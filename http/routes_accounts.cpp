// API.md "Accounts": register, login, refresh, logout, /me.
#include "http/ask.hpp"
#include "http/decoders/accounts.hpp"
#include "http/routes.hpp"
#include "protocols/accounts.hpp"

namespace wassally::http {

nlohmann::json user_json(const user_record& u) {
  nlohmann::json j = {{"id", u.id},
                      {"username", u.username},
                      {"role", u.role},
                      {"first_name", u.first_name},
                      {"last_name", u.last_name},
                      {"email", u.email},
                      {"phone_number", u.phone_number},
                      {"date_joined", u.date_joined}};
  if (u.role == roles::delivery_crew) {
    j["coins"] = u.coins;
    j["number_of_deliveries"] = u.number_of_deliveries;
    j["status"] = u.crew_status;
  }
  if (u.role == roles::shop_owner) j["shop_ids"] = u.shop_ids;
  return j;
}

void add_account_routes(router& r) {
  const std::string base = "/api/v1";
  r.add(
      "POST", base + "/auth/register", {},
      [](request_context& ctx) {
        auto msg = decode_register(ctx.json_body(), roles::customer);
        auto out = ctx.out;
        ask<user_record>(
            ctx, ctx.svc->accounts, [out](user_record& u) { out->json(201, user_json(u)); },
            std::move(msg));
      },
      "Register a customer account");

  r.add(
      "POST", base + "/auth/login", {},
      [](request_context& ctx) {
        auto msg = decode_login(ctx.json_body());
        msg.client_address = ctx.client_address;
        auto out = ctx.out;
        ask<login_reply>(
            ctx, ctx.svc->accounts,
            [out](login_reply& reply) {
              out->json(200, {{"access", reply.access},
                              {"refresh", reply.refresh},
                              {"user", user_json(reply.user)}});
            },
            std::move(msg));
      },
      "Log in: access and refresh tokens");

  r.add(
      "POST", base + "/auth/refresh", {},
      [](request_context& ctx) {
        auto msg = decode_refresh(ctx.json_body());
        auto out = ctx.out;
        ask<access_reply>(
            ctx, ctx.svc->accounts,
            [out](access_reply& a) {
              out->json(200, {{"access", a.access}});
            },
            std::move(msg));
      },
      "A new access token for a refresh token");

  r.add(
      "POST", base + "/auth/logout", any_role,
      [](request_context& ctx) {
        auto body = decode_refresh(ctx.json_body());
        auto out = ctx.out;
        ask<done>(
            ctx, ctx.svc->accounts, [out](done&) { out->empty(204); },
            logout_request{ctx.user_id(), body.refresh});
      },
      "Revoke a refresh token");

  r.add(
      "GET", base + "/me", any_role,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<user_record>(
            ctx, ctx.svc->accounts, [out](user_record& u) { out->json(200, user_json(u)); },
            me_request{ctx.user_id()});
      },
      "The calling user");
}

}  // namespace wassally::http
