#pragma once
// Route registration per API area (http/routes_*.cpp), and the whole API.

#include "http/router.hpp"

namespace wassally::http {

void add_service_routes(router& r);
void add_account_routes(router& r);
void add_shop_routes(router& r);
void add_catalog_routes(router& r);
void add_offer_routes(router& r);
void add_cart_routes(router& r);
void add_order_routes(router& r);
void add_crew_routes(router& r);
void add_staff_routes(router& r);
void add_analytics_routes(router& r);
void add_admin_routes(router& r);
/// API.md "Images": picture uploads and GET/HEAD /media/{key}.
void add_media_routes(router& r);
/// Every route of the API, all areas above: what the server serves and what the OpenAPI and
/// authorization tests check against.
void add_api_routes(router& r);
/// PUT /api/v1/test/clock — registered only when the `test_clock` config key is on.
void add_test_clock_route(router& r);

}  // namespace wassally::http
