#include "protocols/types.hpp"

#include <caf/actor_system_config.hpp>

#include "protocols/accounts.hpp"
#include "protocols/analytics.hpp"
#include "protocols/catalog.hpp"
#include "protocols/cluster.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/errors.hpp"
#include "protocols/inspection.hpp"
#include "protocols/money.hpp"
#include "protocols/orders.hpp"
#include "protocols/pictures.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<api_error>("wassally::api_error");
  cfg.add_message_type<entity_key>("wassally::entity_key");
  cfg.add_message_type<shard_fence>("wassally::shard_fence");
  cfg.add_message_type<shard_owner>("wassally::shard_owner");
  cfg.add_message_type<shard_ownership>("wassally::shard_ownership");
  cfg.add_message_type<served_shards>("wassally::served_shards");
  cfg.add_message_type<kind_stats>("wassally::kind_stats");
  cfg.add_message_type<registry_stats>("wassally::registry_stats");
  cfg.add_message_type<kind_mailboxes>("wassally::kind_mailboxes");
  cfg.add_message_type<mailbox_survey>("wassally::mailbox_survey");
  cfg.add_message_type<actor_state>("wassally::actor_state");
  cfg.add_message_type<persistence_stats>("wassally::persistence_stats");
  cfg.add_message_type<user_record>("wassally::user_record");
  cfg.add_message_type<register_user>("wassally::register_user");
  cfg.add_message_type<login_request>("wassally::login_request");
  cfg.add_message_type<login_reply>("wassally::login_reply");
  cfg.add_message_type<refresh_request>("wassally::refresh_request");
  cfg.add_message_type<access_reply>("wassally::access_reply");
  cfg.add_message_type<logout_request>("wassally::logout_request");
  cfg.add_message_type<me_request>("wassally::me_request");
  cfg.add_message_type<done>("wassally::done");
  cfg.add_message_type<user_credentials>("wassally::user_credentials");
  cfg.add_message_type<refresh_owner>("wassally::refresh_owner");
  cfg.add_message_type<money>("wassally::money");
  cfg.add_message_type<quantity>("wassally::quantity");
  cfg.add_message_type<percent>("wassally::percent");
  cfg.add_message_type<caller>("wassally::caller");
  cfg.add_message_type<geo_location>("wassally::geo_location");
  cfg.add_message_type<shop_category>("wassally::shop_category");
  cfg.add_message_type<set_shop_category_image>("wassally::set_shop_category_image");
  cfg.add_message_type<check_picture_access>("wassally::check_picture_access");
  cfg.add_message_type<picture_references>("wassally::picture_references");
  cfg.add_message_type<shop_category_list>("wassally::shop_category_list");
  cfg.add_message_type<shop_record>("wassally::shop_record");
  cfg.add_message_type<create_shop>("wassally::create_shop");
  cfg.add_message_type<shop_query>("wassally::shop_query");
  cfg.add_message_type<shop_page>("wassally::shop_page");
  cfg.add_message_type<get_shop>("wassally::get_shop");
  cfg.add_message_type<patch_shop>("wassally::patch_shop");
  cfg.add_message_type<product_category>("wassally::product_category");
  cfg.add_message_type<product_category_list>("wassally::product_category_list");
  cfg.add_message_type<product_record>("wassally::product_record");
  cfg.add_message_type<product_page>("wassally::product_page");
  cfg.add_message_type<catalog_snapshot>("wassally::catalog_snapshot");
  cfg.add_message_type<shop_snapshot>("wassally::shop_snapshot");
  cfg.add_message_type<list_product_categories>("wassally::list_product_categories");
  cfg.add_message_type<save_product_category>("wassally::save_product_category");
  cfg.add_message_type<delete_product_category>("wassally::delete_product_category");
  cfg.add_message_type<list_products>("wassally::list_products");
  cfg.add_message_type<save_product>("wassally::save_product");
  cfg.add_message_type<get_product>("wassally::get_product");
  cfg.add_message_type<delete_product>("wassally::delete_product");
  cfg.add_message_type<offer_record>("wassally::offer_record");
  cfg.add_message_type<offer_list>("wassally::offer_list");
  cfg.add_message_type<save_offer>("wassally::save_offer");
  cfg.add_message_type<list_offers>("wassally::list_offers");
  cfg.add_message_type<delete_offer>("wassally::delete_offer");
  cfg.add_message_type<offer_query>("wassally::offer_query");
  cfg.add_message_type<product_quote>("wassally::product_quote");
  cfg.add_message_type<quote_products>("wassally::quote_products");
  cfg.add_message_type<product_quotes>("wassally::product_quotes");
  cfg.add_message_type<order_line_request>("wassally::order_line_request");
  cfg.add_message_type<reserve_stock>("wassally::reserve_stock");
  cfg.add_message_type<commit_reservation>("wassally::commit_reservation");
  cfg.add_message_type<release_reservation>("wassally::release_reservation");
  cfg.add_message_type<stock_returned>("wassally::stock_returned");
  cfg.add_message_type<shop_orders_confirmed>("wassally::shop_orders_confirmed");
  cfg.add_message_type<cart_line>("wassally::cart_line");
  cfg.add_message_type<cart_lines>("wassally::cart_lines");
  cfg.add_message_type<cart_item_view>("wassally::cart_item_view");
  cfg.add_message_type<cart_view>("wassally::cart_view");
  cfg.add_message_type<get_cart>("wassally::get_cart");
  cfg.add_message_type<add_cart_item>("wassally::add_cart_item");
  cfg.add_message_type<set_cart_item>("wassally::set_cart_item");
  cfg.add_message_type<remove_cart_item>("wassally::remove_cart_item");
  cfg.add_message_type<cart_item_reply>("wassally::cart_item_reply");
  cfg.add_message_type<order_item>("wassally::order_item");
  cfg.add_message_type<order_event>("wassally::order_event");
  cfg.add_message_type<order_record>("wassally::order_record");
  cfg.add_message_type<place_order>("wassally::place_order");
  cfg.add_message_type<order_snapshot>("wassally::order_snapshot");
  cfg.add_message_type<open_orders_page>("wassally::open_orders_page");
  cfg.add_message_type<order_transitioned>("wassally::order_transitioned");
  cfg.add_message_type<analytics_query>("wassally::analytics_query");
  cfg.add_message_type<sales_period>("wassally::sales_period");
  cfg.add_message_type<product_sales>("wassally::product_sales");
  cfg.add_message_type<analytics_reply>("wassally::analytics_reply");
  cfg.add_message_type<crew_record>("wassally::crew_record");
  cfg.add_message_type<set_crew_location>("wassally::set_crew_location");
  cfg.add_message_type<set_crew_status>("wassally::set_crew_status");
  cfg.add_message_type<crew_pending_query>("wassally::crew_pending_query");
  cfg.add_message_type<pending_query>("wassally::pending_query");
  cfg.add_message_type<pending_match>("wassally::pending_match");
  cfg.add_message_type<pending_matches>("wassally::pending_matches");
  cfg.add_message_type<view_pending_order>("wassally::view_pending_order");
  cfg.add_message_type<pending_order>("wassally::pending_order");
  cfg.add_message_type<pending_page>("wassally::pending_page");
  cfg.add_message_type<dispatch_point>("wassally::dispatch_point");
  cfg.add_message_type<dispatch_entry>("wassally::dispatch_entry");
  cfg.add_message_type<dispatch_entries>("wassally::dispatch_entries");
  cfg.add_message_type<claim_crew_slot>("wassally::claim_crew_slot");
  cfg.add_message_type<crew_slot_outcome>("wassally::crew_slot_outcome");
  cfg.add_message_type<crew_order_finished>("wassally::crew_order_finished");
  cfg.add_message_type<crew_changed>("wassally::crew_changed");
  cfg.add_message_type<crew_query>("wassally::crew_query");
  cfg.add_message_type<crew_page>("wassally::crew_page");
  cfg.add_message_type<staff_overview>("wassally::staff_overview");
  cfg.add_message_type<create_delivery_request>("wassally::create_delivery_request");
  cfg.add_message_type<idempotent_placement>("wassally::idempotent_placement");
  cfg.add_message_type<order_placed>("wassally::order_placed");
  cfg.add_message_type<get_order>("wassally::get_order");
  cfg.add_message_type<get_order_history>("wassally::get_order_history");
  cfg.add_message_type<order_history>("wassally::order_history");
  cfg.add_message_type<order_action>("wassally::order_action");
  cfg.add_message_type<watch_order>("wassally::watch_order");
  cfg.add_message_type<order_watch>("wassally::order_watch");
  cfg.add_message_type<crew_position>("wassally::crew_position");
  cfg.add_message_type<crew_moved>("wassally::crew_moved");
  cfg.add_message_type<order_crew_location>("wassally::order_crew_location");
  cfg.add_message_type<order_eta_changed>("wassally::order_eta_changed");
  cfg.add_message_type<order_stop>("wassally::order_stop");
  cfg.add_message_type<order_stops>("wassally::order_stops");
  cfg.add_message_type<order_status_changed>("wassally::order_status_changed");
  cfg.add_message_type<order_unattended>("wassally::order_unattended");
  cfg.add_message_type<crew_availability>("wassally::crew_availability");
  cfg.add_message_type<crew_availabilities>("wassally::crew_availabilities");
  cfg.add_message_type<offer_shop>("wassally::offer_shop");
  cfg.add_message_type<crew_offer>("wassally::crew_offer");
  cfg.add_message_type<offer_refusal>("wassally::offer_refusal");
  cfg.add_message_type<offer_book>("wassally::offer_book");
  cfg.add_message_type<decline_offer>("wassally::decline_offer");
  cfg.add_message_type<get_crew_offer>("wassally::get_crew_offer");
  cfg.add_message_type<open_offer>("wassally::open_offer");
  cfg.add_message_type<list_open_offers>("wassally::list_open_offers");
  cfg.add_message_type<open_offers>("wassally::open_offers");
  cfg.add_message_type<crew_offer_event>("wassally::crew_offer_event");
  cfg.add_message_type<order_query>("wassally::order_query");
  cfg.add_message_type<order_page>("wassally::order_page");
  cfg.add_message_type<live_ids>("wassally::live_ids");
  cfg.add_message_type<reconcile_stock>("wassally::reconcile_stock");
  cfg.add_message_type<reconcile_holdings>("wassally::reconcile_holdings");
  cfg.add_message_type<reconcile_pending>("wassally::reconcile_pending");
  cfg.add_message_type<reconcile_outcome>("wassally::reconcile_outcome");
  cfg.add_message_type<open_orders_index>("wassally::open_orders_index");
  cfg.add_message_type<stock_fingerprints>("wassally::stock_fingerprints");
}

}  // namespace wassally
