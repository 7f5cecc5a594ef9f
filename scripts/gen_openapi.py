#!/usr/bin/env python3
"""Writes http/openapi.json, the OpenAPI 3 document the server embeds and serves.

Edit this file when routes change, then run it: `python3 scripts/gen_openapi.py`. The unit
test openapi/every_route_is_documented_and_nothing_else fails when a registered route is
missing from the document or the document lists one the server does not have.
"""
import json
import os
def ref(n): return {"$ref": "#/components/schemas/" + n}
def resp(n): return {"$ref": "#/components/responses/" + n}
def body(schema): return {"required": True, "content": {"application/json": {"schema": schema}}}
def ok(desc, schema=None, ctype="application/json"):
    r = {"description": desc}
    if schema is not None: r["content"] = {ctype: {"schema": schema}}
    return r
common_db = {"503": resp("Unavailable"), "504": resp("Timeout")}
common_body = {"400": resp("BadRequest"), "413": resp("PayloadTooLarge"), "415": resp("UnsupportedMediaType")}
username = {"type": "string", "pattern": "^[A-Za-z0-9_.@+-]{3,150}$"}
phone = {"type": "string", "pattern": "^\\+?[0-9]{7,15}$"}
home_location = {"type": "object", "required": ["latitude", "longitude"],
  "description": "Optional. Where the user mostly orders or works. In cluster mode the user's id is allocated in this point's service zone, so their cart (a customer) or their offers and accepts (a crew) are served by the node serving that zone (CLUSTER.md \"Shard key\"). Not stored.",
  "properties": {"latitude": {"type": "number", "minimum": -90, "maximum": 90},
                 "longitude": {"type": "number", "minimum": -180, "maximum": 180}}}
doc = {
 "openapi": "3.0.3",
 "info": {"title": "Wassally REST API", "version": "1.0.0",
  "description": "Multi-vendor delivery platform: customers, delivery crews, shop owners and staff. Requests and responses are JSON (UTF-8). Errors always have the shape of the Error schema with a stable `code`. Money is a decimal string with two places; timestamps in responses are ISO-8601 UTC ending in Z (requests may add fractional seconds and a +hh:mm or -hh:mm offset, converted to UTC); numbers beyond what a field holds (money >= 10^10, quantities >= 10^9) are 400 validation_error on that field; ids are integers. Lists are paginated with `page` and `page_size` (max 100)."},
 "servers": [{"url": "/"}],
 "tags": [{"name": "service", "description": "Health, readiness, metrics and this document"},
          {"name": "accounts", "description": "Registration, login, tokens and the current user"}],
 "paths": {
  "/health": {"get": {"operationId": "health", "tags": ["service"], "summary": "Liveness",
     "responses": {"200": ok("The process is up", {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}})}}},
  "/ready": {"get": {"operationId": "ready", "tags": ["service"], "summary": "Readiness: the database is reachable and migrated",
     "responses": {"200": ok("Ready", {"type": "object", "properties": {"status": {"type": "string", "enum": ["ready"]}}}), **common_db}}},
  "/metrics": {"get": {"operationId": "metrics", "tags": ["service"], "summary": "Prometheus metrics",
     "description": "Prometheus text format: requests and latency per route template and status, live actors per kind, persistence batch sizes and commit latency, database pool use. Open to loopback clients; others need a staff token.",
     "security": [{}, {"bearerAuth": []}],
     "responses": {"200": ok("Metrics", {"type": "string"}, "text/plain"), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}},
  "/api/openapi.json": {"get": {"operationId": "openapi", "tags": ["service"], "summary": "This document",
     "responses": {"200": ok("OpenAPI 3 document", {"type": "object"})}}},
  "/api/docs": {"get": {"operationId": "docs", "tags": ["service"], "summary": "Human-readable API documentation",
     "description": "Swagger UI (swagger-ui-dist from npm, shipped in web/, never from a CDN) over /api/openapi.json, with try it out against this server (Authorize with an access token). Served with a Content-Security-Policy that allows no inline script.",
     "responses": {"200": ok("HTML page rendered from /api/openapi.json", {"type": "string"}, "text/html"),
                   "503": resp("Unavailable")}}},
  "/api/docs/assets/{file}": {"parameters": [{"name": "file", "in": "path", "required": True, "schema": {"type": "string", "enum": ["docs.js", "swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"]}}],
     "get": {"operationId": "docsAsset", "tags": ["service"], "summary": "A file of the documentation page",
     "responses": {"200": {"description": "The file (JavaScript, CSS or PNG)", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                   "404": resp("NotFound")}}},
  "/console": {"get": {"operationId": "console", "tags": ["service"], "summary": "Staff and operator console",
     "description": "A web page of this server: staff log in and get the live order board (fed by /api/v1/staff/events, re-read through the list endpoints after a reconnect or a token refresh), an order's detail with assign, cancel with a reason and unlock, the crews with a live plot of crew and shop positions, the overview and the actor inspector; a shop owner gets its sales charts (Chart.js from npm). Uses only this API; every text is shown escaped; served with a Content-Security-Policy that allows no inline script. The token lives in sessionStorage.",
     "responses": {"200": ok("The console's HTML page", {"type": "string"}, "text/html"),
                   "503": resp("Unavailable")}}},
  "/console/assets/{file}": {"parameters": [{"name": "file", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+\\.(js|css|svg|png)$"}, "description": "one of the console's modules or style sheets (web/console/), or chart.umd.min.js"}],
     "get": {"operationId": "consoleAsset", "tags": ["service"], "summary": "A file of the console",
     "responses": {"200": {"description": "The file (JavaScript or CSS)", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                   "404": resp("NotFound")}}},
  "/api/v1/auth/register": {"post": {"operationId": "register", "tags": ["accounts"], "summary": "Register a customer account",
     "requestBody": body(ref("RegisterRequest")),
     "responses": {"201": ok("The new customer", ref("User")), **common_body, "409": resp("Conflict"), **common_db}}},
  "/api/v1/auth/login": {"post": {"operationId": "login", "tags": ["accounts"], "summary": "Log in: access and refresh tokens",
     "description": "Failures are limited per username and per client address (default 5 a minute); past that the answer is 429 with Retry-After, even for the right password.",
     "requestBody": body(ref("LoginRequest")),
     "responses": {"200": ok("Tokens and the user", ref("LoginResponse")), **common_body,
                   "401": {"description": "Wrong username or password (code invalid_credentials)", "content": {"application/json": {"schema": ref("Error")}}},
                   "429": resp("RateLimited"), **common_db}}},
  "/api/v1/auth/refresh": {"post": {"operationId": "refresh", "tags": ["accounts"], "summary": "A new access token for a refresh token",
     "description": "The refresh token is not rotated.",
     "requestBody": body(ref("RefreshRequest")),
     "responses": {"200": ok("A fresh access token", ref("AccessResponse")), **common_body, "401": resp("Unauthorized"), **common_db}}},
  "/api/v1/auth/logout": {"post": {"operationId": "logout", "tags": ["accounts"], "summary": "Revoke a refresh token",
     "description": "Revokes the caller's refresh token; access tokens stay valid until they expire.",
     "security": [{"bearerAuth": []}],
     "requestBody": body(ref("RefreshRequest")),
     "responses": {"204": {"description": "Revoked"}, **common_body, "401": resp("Unauthorized"), **common_db}}},
  "/api/v1/me": {"get": {"operationId": "me", "tags": ["accounts"], "summary": "The calling user",
     "security": [{"bearerAuth": []}],
     "responses": {"200": ok("The user, with crew or owner members for those roles", ref("User")), "401": resp("Unauthorized"), **common_db}}},
 },
 "components": {
  "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
     "description": "Access token from /api/v1/auth/login (HS256, ~15 minutes). Server-Sent Events endpoints also accept ?access_token=."}},
  "schemas": {
   "User": {"type": "object", "required": ["id", "username", "role", "first_name", "last_name", "email", "phone_number", "date_joined"],
     "properties": {"id": {"type": "integer", "format": "int64"}, "username": username,
       "role": {"type": "string", "enum": ["customer", "shop_owner", "delivery_crew", "staff"]},
       "first_name": {"type": "string"}, "last_name": {"type": "string"}, "email": {"type": "string"},
       "phone_number": phone, "date_joined": {"type": "string", "format": "date-time", "example": "2026-11-24T19:30:00Z"},
       "coins": {"type": "integer", "description": "delivery_crew only"},
       "number_of_deliveries": {"type": "integer", "description": "delivery_crew only"},
       "status": {"type": "string", "enum": ["available", "offline"], "description": "delivery_crew only"},
       "shop_ids": {"type": "array", "items": {"type": "integer"}, "description": "shop_owner only"}}},
   "RegisterRequest": {"type": "object", "required": ["username", "password", "phone_number"],
     "properties": {"username": username, "password": {"type": "string", "minLength": 8, "maxLength": 1024}, "phone_number": phone,
       "first_name": {"type": "string", "maxLength": 150}, "last_name": {"type": "string", "maxLength": 150},
       "email": {"type": "string", "format": "email", "maxLength": 254}, "home_location": home_location}},
   "LoginRequest": {"type": "object", "required": ["username", "password"],
     "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
   "LoginResponse": {"type": "object", "required": ["access", "refresh", "user"],
     "properties": {"access": {"type": "string"}, "refresh": {"type": "string"}, "user": ref("User")}},
   "RefreshRequest": {"type": "object", "required": ["refresh"], "properties": {"refresh": {"type": "string"}}},
   "AccessResponse": {"type": "object", "required": ["access"], "properties": {"access": {"type": "string"}}},
   "Error": {"type": "object", "required": ["error"],
     "description": "Generic codes: malformed_json (400), validation_error (400, with fields), unauthenticated (401), invalid_credentials (401, login only), forbidden (403), not_found (404), method_not_allowed (405), conflict (409), payload_too_large (413), unsupported_media_type (415), rate_limited (429, with Retry-After), unavailable (503), timeout (504). Specific codes such as out_of_stock or cart_shop_limit take precedence and may carry extra members (product_id).",
     "properties": {"error": {"type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "example": "validation_error"}, "message": {"type": "string"},
          "fields": {"type": "object", "additionalProperties": {"type": "string"}, "description": "validation errors only; keys are dotted field paths such as location.latitude"},
          "outcome": {"type": "string", "enum": ["not_written", "unknown"], "description": "timeout (504) only: whether the change may still commit"}},
        "additionalProperties": True}}},
   "Paginated": {"type": "object", "required": ["count", "next", "previous", "results"],
     "properties": {"count": {"type": "integer"}, "next": {"type": "string", "format": "uri", "nullable": True},
       "previous": {"type": "string", "format": "uri", "nullable": True}, "results": {"type": "array", "items": {}}}},
  },
  "responses": {k: {"description": d, "content": {"application/json": {"schema": ref("Error")}}} for k, d in [
     ("BadRequest", "malformed_json or validation_error (with fields)"), ("Unauthorized", "Missing, invalid or expired token (unauthenticated)"),
     ("Forbidden", "Authenticated but not allowed (forbidden)"), ("NotFound", "Unknown id or route (not_found)"),
     ("Conflict", "The change conflicts with existing data (conflict or a specific code)"),
     ("PayloadTooLarge", "The body is over 1 MiB (payload_too_large)"), ("UnsupportedMediaType", "A body that is not application/json (unsupported_media_type)"),
     ("RateLimited", "Too many attempts (rate_limited); see Retry-After"), ("Unavailable", "The database is unreachable (unavailable); in cluster mode, this node does not serve the entity's shard (not_owner, with Retry-After, owner_node and owner_url when known)"),
     ("Timeout", "The request took longer than its deadline (timeout); `outcome` says whether anything may have been written: not_written, or unknown (the change may still commit: read it, or repeat with the same Idempotency-Key)")]},
 },
}
doc["components"]["responses"]["RateLimited"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}

# --- Shops ---
doc["tags"].append({"name": "shops", "description": "Shop categories, registering shops, browsing and editing them"})
S = doc["components"]["schemas"]
S["Location"] = {"type": "object", "required": ["latitude", "longitude"],
  "properties": {"address": {"type": "string", "maxLength": 500}, "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                 "longitude": {"type": "number", "minimum": -180, "maximum": 180}}}
S["Images"] = {"type": "object", "nullable": True, "required": ["large", "medium", "thumb"],
  "description": "Absolute URLs of an uploaded picture's renditions (GET /media/{key}); null for none or an external picture",
  "properties": {"large": {"type": "string", "format": "uri", "description": "longest side <= 1600 px"},
                 "medium": {"type": "string", "format": "uri", "description": "longest side <= 640 px"},
                 "thumb": {"type": "string", "format": "uri", "description": "longest side <= 160 px"}}}
image_out = {"type": "string", "format": "uri", "nullable": True, "description": "the large rendition's URL (uploaded picture), an external http(s) URL, or null"}
image_in = {"type": "string", "maxLength": 2000, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "description": "an external http(s) URL; upload pictures with PUT .../image"}
S["ShopCategory"] = {"type": "object", "required": ["id", "name", "image", "images"],
  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "image": image_out, "images": ref("Images")}}
S["ShopCategoryRequest"] = {"type": "object", "required": ["name"],
  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}, "image": image_in}}
preparation_min = {"type": "integer", "minimum": 0, "maximum": 240,
                   "description": "minutes the shop needs to prepare an order (used by the ETA); default 10"}
S["Shop"] = {"type": "object", "required": ["id", "name", "description", "phone_number", "facebook_url", "image", "images", "category_id", "status", "confirmed_orders", "preparation_min", "location", "owner_id"],
  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "description": {"type": "string"}, "phone_number": phone,
    "facebook_url": {"type": "string"}, "image": image_out, "images": ref("Images"), "category_id": {"type": "integer"},
    "status": {"type": "string", "enum": ["active", "suspended"]},
    "confirmed_orders": {"type": "integer", "minimum": 0, "description": "delivered orders that contain lines of this shop (delivery requests do not count), past orders included; read-only"},
    "preparation_min": preparation_min,
    "location": ref("Location"), "owner_id": {"type": "integer"},
    "distance_km": {"type": "number", "description": "only in listings filtered with near"}}}
S["ShopOwnerAccount"] = {"type": "object", "required": ["username", "password", "phone_number"],
  "properties": {"username": username, "password": {"type": "string", "minLength": 8}, "phone_number": phone,
                 "first_name": {"type": "string"}, "last_name": {"type": "string"}, "email": {"type": "string"}}}
S["CreateShopRequest"] = {"type": "object", "required": ["name", "phone_number", "category_id", "location"],
  "description": "Give `owner` (a new shop_owner account, created in the same transaction) or `owner_id` of an existing shop owner, not both. Validation errors of the owner are named owner.username etc.",
  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}, "description": {"type": "string"}, "phone_number": phone,
    "facebook_url": {"type": "string"}, "image": image_in, "category_id": {"type": "integer"},
    "preparation_min": preparation_min,
    "location": ref("Location"), "owner": ref("ShopOwnerAccount"), "owner_id": {"type": "integer"}}}
S["PatchShopRequest"] = {"type": "object", "description": "Any of the editable fields; `status` is staff-only (an owner gets 403). Location members may be sent alone.",
  "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "phone_number": phone, "facebook_url": {"type": "string"},
    "image": image_in, "category_id": {"type": "integer"}, "status": {"type": "string", "enum": ["active", "suspended"]},
    "preparation_min": preparation_min,
    "location": {"type": "object", "properties": {"address": {"type": "string"}, "latitude": {"type": "number"}, "longitude": {"type": "number"}}}}}
def paged(item):
    return {"allOf": [ref("Paginated"), {"type": "object", "properties": {"results": {"type": "array", "items": ref(item)}}}]}
page_params = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
               {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}, "description": "capped at 100"}]
id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
staff = [{"bearerAuth": []}]
P = doc["paths"]
P["/api/v1/shop-categories"] = {
  "get": {"operationId": "listShopCategories", "tags": ["shops"], "summary": "Shop categories", "parameters": page_params,
          "responses": {"200": ok("A page of categories", paged("ShopCategory")), "400": resp("BadRequest"), **common_db}},
  "post": {"operationId": "createShopCategory", "tags": ["shops"], "summary": "Create a shop category (staff)", "security": staff,
           "requestBody": body(ref("ShopCategoryRequest")),
           "responses": {"201": ok("The category", ref("ShopCategory")), **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), "409": resp("Conflict"), **common_db}}}
P["/api/v1/shops"] = {
  "get": {"operationId": "listShops", "tags": ["shops"], "summary": "Browse active shops",
          "parameters": page_params + [
            {"name": "category_id", "in": "query", "schema": {"type": "integer"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "case-insensitive substring of the name"},
            {"name": "near", "in": "query", "schema": {"type": "string", "example": "30.0444,31.2357"}, "description": "lat,lng: only shops within radius_km, nearest first, each with distance_km"},
            {"name": "radius_km", "in": "query", "schema": {"type": "number", "default": 10}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["all"]}, "description": "staff only: include suspended shops"}],
          "responses": {"200": ok("A page of shops", paged("Shop")), "400": resp("BadRequest"), **common_db}},
  "post": {"operationId": "createShop", "tags": ["shops"], "summary": "Register a shop with its owner (staff)", "security": staff,
           "requestBody": body(ref("CreateShopRequest")),
           "responses": {"201": ok("The shop", ref("Shop")), **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), "409": resp("Conflict"), **common_db}}}
P["/api/v1/shops/{id}"] = {
  "parameters": id_param,
  "get": {"operationId": "getShop", "tags": ["shops"], "summary": "A shop (a suspended shop: owner and staff only, else 404)",
          "security": [{}, {"bearerAuth": []}],
          "responses": {"200": ok("The shop", ref("Shop")), "404": resp("NotFound"), **common_db}},
  "patch": {"operationId": "patchShop", "tags": ["shops"], "summary": "Edit a shop (its owner or staff; status: staff only)", "security": staff,
            "requestBody": body(ref("PatchShopRequest")),
            "responses": {"200": ok("The updated shop", ref("Shop")), **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}}}

# --- Catalog ---
doc["tags"].append({"name": "catalog", "description": "Product categories and products of a shop (its owner or staff manage them)"})
dec = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$", "example": "12.50"}
qty = {"type": "number", "minimum": 0, "description": "up to three decimals"}
S["ProductCategory"] = {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
S["ProductCategoryRequest"] = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}}}
S["Offer"] = {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "discount": dec}}
S["Product"] = {"type": "object",
  "required": ["id", "shop_id", "category_id", "name", "description", "price", "effective_price", "stock", "is_unlimited", "quantity_type", "minimum_quantity", "increment_rate", "image", "images", "is_hidden", "sales_count", "offer", "created_at", "updated_at"],
  "properties": {"id": {"type": "integer"}, "shop_id": {"type": "integer"}, "category_id": {"type": "integer", "nullable": True},
    "name": {"type": "string"}, "description": {"type": "string"}, "price": dec,
    "effective_price": dict(dec, description="price reduced by the active offer, rounded half-up to cents"),
    "cost_price": dict(dec, nullable=True, description="owner and staff only"),
    "stock": qty, "is_unlimited": {"type": "boolean"},
    "quantity_type": {"type": "string", "enum": ["unit", "kg", "gram", "liter", "box"]},
    "minimum_quantity": qty, "increment_rate": qty, "image": image_out, "images": ref("Images"), "is_hidden": {"type": "boolean"},
    "sales_count": qty, "offer": {"allOf": [ref("Offer")], "nullable": True},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "is_deleted": {"type": "boolean", "description": "present (true) on a deleted product, which only its owner and staff can read"}}}
S["ProductRequest"] = {"type": "object", "description": "POST needs name and price; PATCH takes any subset. Money is a decimal string; quantities are numbers with up to three decimals.",
  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}, "description": {"type": "string"}, "price": dec,
    "cost_price": dict(dec, nullable=True), "stock": qty, "is_unlimited": {"type": "boolean"},
    "quantity_type": {"type": "string", "enum": ["unit", "kg", "gram", "liter", "box"], "default": "unit"},
    "minimum_quantity": dict(qty, exclusiveMinimum=True, default=1), "increment_rate": dict(qty, exclusiveMinimum=True, default=1),
    "image": image_in, "is_hidden": {"type": "boolean"}, "category_id": {"type": "integer", "nullable": True}}}
cid_param = [{"name": "cid", "in": "path", "required": True, "schema": {"type": "integer"}}]
managers = [{"bearerAuth": []}]
mut = {**common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}
P["/api/v1/shops/{id}/categories"] = {"parameters": id_param,
  "get": {"operationId": "listProductCategories", "tags": ["catalog"], "summary": "Product categories of a shop", "parameters": page_params,
          "responses": {"200": ok("A page of categories", paged("ProductCategory")), "404": resp("NotFound"), **common_db}},
  "post": {"operationId": "createProductCategory", "tags": ["catalog"], "summary": "Create a product category (name unique in the shop)", "security": managers,
           "requestBody": body(ref("ProductCategoryRequest")),
           "responses": {"201": ok("The category", ref("ProductCategory")), **mut, "409": resp("Conflict")}}}
P["/api/v1/shops/{id}/categories/{cid}"] = {"parameters": id_param + cid_param,
  "patch": {"operationId": "renameProductCategory", "tags": ["catalog"], "summary": "Rename a product category", "security": managers,
            "requestBody": body(ref("ProductCategoryRequest")),
            "responses": {"200": ok("The category", ref("ProductCategory")), **mut, "409": resp("Conflict")}},
  "delete": {"operationId": "deleteProductCategory", "tags": ["catalog"], "summary": "Delete a product category; its products become uncategorised", "security": managers,
             "responses": {"204": {"description": "Deleted"}, "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}}}
P["/api/v1/shops/{id}/products"] = {"parameters": id_param,
  "get": {"operationId": "listProducts", "tags": ["catalog"], "summary": "Products of a shop (hidden ones only for its owner and staff)",
          "security": [{}, {"bearerAuth": []}],
          "parameters": page_params + [{"name": "category_id", "in": "query", "schema": {"type": "integer"}},
                                       {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "case-insensitive substring of the name"},
                                       {"name": "offer", "in": "query", "schema": {"type": "boolean"}, "description": "true: only products in an active offer"}],
          "responses": {"200": ok("A page of products", paged("Product")), "400": resp("BadRequest"), "404": resp("NotFound"), **common_db}},
  "post": {"operationId": "createProduct", "tags": ["catalog"], "summary": "Create a product", "security": managers,
           "requestBody": body(ref("ProductRequest")),
           "responses": {"201": ok("The product", ref("Product")), **mut}}}
P["/api/v1/products/{id}"] = {"parameters": id_param,
  "get": {"operationId": "getProduct", "tags": ["catalog"], "summary": "A product (hidden or deleted: owner and staff only, else 404)",
          "security": [{}, {"bearerAuth": []}],
          "responses": {"200": ok("The product", ref("Product")), "404": resp("NotFound"), **common_db}},
  "patch": {"operationId": "patchProduct", "tags": ["catalog"], "summary": "Change a product", "security": managers,
            "requestBody": body(ref("ProductRequest")),
            "responses": {"200": ok("The product", ref("Product")), **mut}},
  "delete": {"operationId": "deleteProduct", "tags": ["catalog"], "summary": "Delete a product; past orders keep their items and prices", "security": managers,
             "responses": {"204": {"description": "Deleted"}, "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}}}

# --- Offers ---
doc["tags"].append({"name": "offers", "description": "Percentage offers on a shop's products"})
ts = {"type": "string", "format": "date-time", "example": "2026-11-24T19:30:00Z"}
S["Offer"] = {"type": "object", "required": ["id", "shop_id", "title", "description", "url", "image", "images", "discount", "start_date", "end_date", "is_sponsored", "is_active", "product_ids"],
  "properties": {"id": {"type": "integer"}, "shop_id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
    "url": {"type": "string"}, "image": image_out, "images": ref("Images"), "discount": dict(dec, description="percent, 0 < d <= 100"),
    "start_date": ts, "end_date": ts, "is_sponsored": {"type": "boolean"},
    "is_active": {"type": "boolean", "description": "start_date <= now < end_date"},
    "product_ids": {"type": "array", "items": {"type": "integer"}}}}
S["ProductOffer"] = {"type": "object", "required": ["id", "title", "discount"], "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "discount": dec}}
S["Product"]["properties"]["offer"] = {"type": "object", "allOf": [ref("ProductOffer")], "nullable": True, "description": "the offer active now, if any"}
S["OfferRequest"] = {"type": "object", "description": "POST needs title, discount, start_date, end_date and product_ids; PATCH any subset. A product may be in at most one offer whose period overlaps (409 offer_overlap with product_id); products of another shop are 400 on product_ids; is_sponsored is staff-only (403).",
  "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 200}, "description": {"type": "string"}, "url": {"type": "string"},
    "image": image_in, "discount": dec, "start_date": ts, "end_date": ts, "is_sponsored": {"type": "boolean"},
    "product_ids": {"type": "array", "items": {"type": "integer"}}}}
P["/api/v1/shops/{id}/offers"] = {"parameters": id_param,
  "get": {"operationId": "listShopOffers", "tags": ["offers"], "summary": "Offers of a shop active now",
          "security": [{}, {"bearerAuth": []}],
          "parameters": page_params + [{"name": "all", "in": "query", "schema": {"type": "boolean"}, "description": "owner and staff: past and future offers too"}],
          "responses": {"200": ok("A page of offers", paged("Offer")), "404": resp("NotFound"), **common_db}},
  "post": {"operationId": "createOffer", "tags": ["offers"], "summary": "Create an offer", "security": managers,
           "requestBody": body(ref("OfferRequest")),
           "responses": {"201": ok("The offer", ref("Offer")), **mut, "409": resp("Conflict")}}}
P["/api/v1/offers"] = {
  "get": {"operationId": "listOffers", "tags": ["offers"], "summary": "Active offers across active shops, sponsored first", "parameters": page_params,
          "responses": {"200": ok("A page of offers", paged("Offer")), "400": resp("BadRequest"), **common_db}}}
P["/api/v1/offers/{id}"] = {"parameters": id_param,
  "patch": {"operationId": "patchOffer", "tags": ["offers"], "summary": "Change an offer (is_sponsored: staff only)", "security": managers,
            "requestBody": body(ref("OfferRequest")),
            "responses": {"200": ok("The offer", ref("Offer")), **mut, "409": resp("Conflict")}},
  "delete": {"operationId": "deleteOffer", "tags": ["offers"], "summary": "Delete an offer", "security": managers,
             "responses": {"204": {"description": "Deleted"}, "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}}}

# --- Cart and orders ---
doc["tags"].append({"name": "cart", "description": "The customer's cart: up to 3 shops, current prices"})
doc["tags"].append({"name": "orders", "description": "Placing orders, following them live, cancelling"})
customer = [{"bearerAuth": []}]
anyone = [{"bearerAuth": []}]
order_qty = {"type": "number", "exclusiveMinimum": True, "minimum": 0, "description": "in the product's unit, at most 3 decimals"}
S["CartItem"] = {"type": "object", "required": ["id", "product_id", "shop_id", "name", "quantity", "unit_price", "line_total", "available"],
  "properties": {"id": {"type": "integer"}, "product_id": {"type": "integer"}, "shop_id": {"type": "integer"}, "name": {"type": "string"},
    "quantity": {"type": "number"}, "unit_price": dict(dec, description="today's price, offer applied"), "line_total": dec,
    "available": {"type": "boolean", "description": "false when the product was hidden or deleted, or its shop suspended, since it was added (not in total)"}}}
S["Cart"] = {"type": "object", "required": ["items", "shops", "total"],
  "properties": {"items": {"type": "array", "items": ref("CartItem")}, "shops": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}, "total": dec}}
S["CartItemRequest"] = {"type": "object", "required": ["product_id", "quantity"],
  "properties": {"product_id": {"type": "integer", "minimum": 1}, "quantity": order_qty}}
S["CartQuantityRequest"] = {"type": "object", "required": ["quantity"], "properties": {"quantity": order_qty}}
S["OrderLine"] = {"type": "object", "required": ["product_id", "quantity"], "properties": {"product_id": {"type": "integer", "minimum": 1}, "quantity": order_qty}}
S["PlaceOrderRequest"] = {"type": "object", "required": ["receiver_name", "receiver_phone", "location"],
  "description": "Without items the cart is checked out (and emptied if the order commits). Repeated products add up.",
  "properties": {"receiver_name": {"type": "string", "minLength": 1, "maxLength": 200}, "receiver_phone": phone, "location": ref("Location"),
    "notes": {"type": "string", "maxLength": 5000}, "items": {"type": "array", "minItems": 1, "maxItems": 100, "items": ref("OrderLine")}}}
S["OrderItem"] = {"type": "object", "required": ["id", "product_id", "shop_id", "name", "quantity", "unit_price", "line_total", "is_bought"],
  "properties": {"id": {"type": "integer"}, "product_id": {"type": "integer"}, "shop_id": {"type": "integer"}, "name": {"type": "string"},
    "quantity": {"type": "number"}, "unit_price": dict(dec, description="snapshot at placement, offer applied"), "line_total": dec, "is_bought": {"type": "boolean"}}}
status_enum = {"type": "string", "enum": ["pending", "assigned", "picked_up", "delivered", "cancelled"]}
# A cancellation's record, on the order and on its history event (null until cancelled).
cancel_props = {
    "cancel_reason": {"type": "string", "nullable": True, "enum": ["customer", "staff", "shop", "no_crew", None],
                      "description": "who cancelled: the customer, staff, the shop that requested the delivery, or no_crew (pending too long); null unless cancelled"},
    "cancel_note": {"type": "string", "nullable": True, "description": "the canceller's note; null when none was given (or not cancelled)"},
    "cancelled_by": {"type": "integer", "nullable": True, "description": "the user who cancelled; null for no_crew (or not cancelled)"}}
S["Order"] = {"type": "object", "required": ["id", "type", "status", "user_id", "crew_id", "receiver_name", "receiver_phone", "location", "notes", "items", "items_total", "delivery_fee", "total", "coins", "code_locked", "created_at", "updated_at", "cancel_reason", "cancel_note", "cancelled_by", "crew_location", "eta"],
  "properties": {"id": {"type": "integer"}, "code": {"type": "string", "description": "confirmation code: only for the customer (or the requesting shop's owner) and staff"},
    "code_locked": {"type": "boolean", "description": "true after 5 wrong delivery codes, until staff unlocks it (POST /orders/{id}/unlock-code)"},
    "type": {"type": "string", "enum": ["order", "delivery_request"]}, "status": status_enum, "user_id": {"type": "integer"},
    "crew_id": {"type": "integer", "nullable": True}, "requesting_shop_id": {"type": "integer", "description": "delivery requests only"},
    "receiver_name": {"type": "string"}, "receiver_phone": phone, "location": ref("Location"), "notes": {"type": "string"},
    "items": {"type": "array", "items": ref("OrderItem"), "description": "a shop owner sees only their shops' lines (and totals of those)"},
    "items_total": dec, "delivery_fee": dec, "total": dict(dec, description="items_total + delivery_fee"), "coins": {"type": "integer"},
    "created_at": ts, "updated_at": ts, **cancel_props,
    "crew_location": {"type": "object", "nullable": True, "required": ["latitude", "longitude", "at"],
      "description": "where the assigned crew was last seen, while the order is assigned or picked up; for its customer (the requesting shop's owner) and staff only, else null",
      "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}, "at": ts}},
    "eta": {"type": "string", "format": "date-time", "nullable": True,
      "description": "when the crew should reach the customer (UTC, whole seconds), while assigned or picked up and the crew's position is known; else null. From great-circle distances (crew → the shops still to visit, nearest next, each no earlier than created_at + its preparation_min → customer) × route_factor at average_speed_kmh; refreshed on assignment, each line bought, pickup and crew movement. Kept by the live order (not stored): listings ask each listed order on its way for it"}}}
S["OrderEvent"] = {"type": "object", "required": ["seq", "status", "at", "by_user_id", "crew_id", "cancel_reason", "cancel_note", "cancelled_by"],
  "properties": {"seq": {"type": "integer"}, "status": status_enum, "at": ts, "by_user_id": {"type": "integer", "nullable": True}, "crew_id": {"type": "integer", "nullable": True}, **cancel_props}}
S["CancelOrderRequest"] = {"type": "object", "description": "The body is optional: no body, {} or a null note cancel without a note.",
  "properties": {"note": {"type": "string", "maxLength": 500, "description": "why, in at most 500 characters; an empty note is no note"}}}
auth_errs = {"401": resp("Unauthorized"), "403": resp("Forbidden")}
P["/api/v1/cart"] = {
  "get": {"operationId": "getCart", "tags": ["cart"], "summary": "The caller's cart at current prices", "security": customer,
          "responses": {"200": ok("The cart", ref("Cart")), **auth_errs, **common_db}},
  "delete": {"operationId": "clearCart", "tags": ["cart"], "summary": "Empty the cart", "security": customer,
             "responses": {"204": {"description": "Emptied"}, **auth_errs, **common_db}}}
P["/api/v1/cart/items"] = {
  "post": {"operationId": "addCartItem", "tags": ["cart"], "summary": "Put a product in the cart", "security": customer,
           "description": "A product already in the cart has its quantity increased (200). A 4th distinct shop: 409 cart_shop_limit; a quantity the product does not allow (minimum_quantity, increment_rate): 400 invalid_quantity; hidden, deleted or unknown product: 404; suspended shop: 409 shop_unavailable. Errors about a product carry its product_id.",
           "requestBody": body(ref("CartItemRequest")),
           "responses": {"201": ok("The new line", ref("CartItem")), "200": ok("The line whose quantity grew", ref("CartItem")), **common_body, **auth_errs,
                         "404": resp("NotFound"), "409": resp("Conflict"), **common_db}}}
P["/api/v1/cart/items/{id}"] = {"parameters": id_param,
  "patch": {"operationId": "setCartItemQuantity", "tags": ["cart"], "summary": "Change a line's quantity", "security": customer,
            "requestBody": body(ref("CartQuantityRequest")),
            "responses": {"200": ok("The line", ref("CartItem")), **common_body, **auth_errs, "404": resp("NotFound"), "409": resp("Conflict"), **common_db}},
  "delete": {"operationId": "removeCartItem", "tags": ["cart"], "summary": "Remove a line", "security": customer,
             "responses": {"204": {"description": "Removed"}, **auth_errs, "404": resp("NotFound"), **common_db}}}
P["/api/v1/orders"] = {
  "post": {"operationId": "placeOrder", "tags": ["orders"], "summary": "Place an order from the cart or from items", "security": customer,
           "description": "All or nothing across up to 3 shops: every line's stock is taken in one transaction with the order, or none is (409 out_of_stock with product_id). Idempotency-Key: the same key of the same user within 24 h returns the first answer (201, or a stored 404/409; 400s are not stored) and creates nothing; with a different body 409 idempotency_key_reused; while the first request with the key is still in flight, 409 request_in_progress with Retry-After. A 504 with outcome unknown may still commit: repeat with the same key to learn the outcome.",
           "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
           "requestBody": body(ref("PlaceOrderRequest")),
           "responses": {"201": ok("The order", ref("Order")), **common_body, **auth_errs, "404": resp("NotFound"), "409": resp("Conflict"), **common_db}},
  "get": {"operationId": "listOrders", "tags": ["orders"], "summary": "Orders the caller may see, newest first", "security": anyone,
          "description": "customer: own; delivery crew: assigned to them; shop owner: with lines of their shops or their delivery requests; staff: all.",
          "parameters": page_params + [{"name": "status", "in": "query", "schema": status_enum},
             {"name": "shop_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
             {"name": "crew_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
             {"name": "from", "in": "query", "schema": ts, "description": "created at or after"},
             {"name": "to", "in": "query", "schema": ts, "description": "created before"}],
          "responses": {"200": ok("A page of orders", paged("Order")), "400": resp("BadRequest"), "401": resp("Unauthorized"), **common_db}}}
P["/api/v1/orders/{id}"] = {"parameters": id_param,
  "get": {"operationId": "getOrder", "tags": ["orders"], "summary": "One order as the caller may see it", "security": anyone,
          "responses": {"200": ok("The order", ref("Order")), "401": resp("Unauthorized"), "404": resp("NotFound"), **common_db}}}
P["/api/v1/orders/{id}/history"] = {"parameters": id_param,
  "get": {"operationId": "getOrderHistory", "tags": ["orders"], "summary": "Status history, oldest first (not paginated)", "security": anyone,
          "responses": {"200": ok("The events", {"type": "array", "items": ref("OrderEvent")}), "401": resp("Unauthorized"), "404": resp("NotFound"), **common_db}}}
P["/api/v1/orders/{id}/events"] = {"parameters": id_param,
  "get": {"operationId": "streamOrderEvents", "tags": ["orders"], "summary": "Live status changes (Server-Sent Events)", "security": anyone,
          "description": "text/event-stream: first the current status, then one `event: status` per committed change with `data: {status, at, crew_id}` and `id` = the event's seq; `: keepalive` comments (every sse_keepalive_s, default 15 s); the stream ends after delivered/cancelled. Last-Event-ID replays the later events. While the order is assigned or picked up, its customer and staff also get `event: crew_location` with `data: {latitude, longitude, at}` (no id, not replayed) when the crew reports a position, at most one per crew_location_event_s (default 5; the latest position when the window ends), and the current one right after the first status. Every watcher gets `event: eta` with `data: {eta}` (ISO time or null; no id, not replayed) when the order's eta changes by a minute or more or becomes known or unknown, at most one per crew_location_event_s (the latest when the window ends), and the current one (if known) right after the first status. Browsers may pass the token as ?access_token=.",
          "parameters": [{"name": "Last-Event-ID", "in": "header", "schema": {"type": "integer"}}],
          "responses": {"200": ok("The event stream", {"type": "string"}, "text/event-stream"), "400": resp("BadRequest"), "401": resp("Unauthorized"), "404": resp("NotFound"), **common_db}}}
P["/api/v1/orders/{id}/cancel"] = {"parameters": id_param,
  "post": {"operationId": "cancelOrder", "tags": ["orders"], "summary": "Cancel with an optional note; stock is returned", "security": anyone,
           "description": "The customer while pending (cancel_reason customer); staff while pending or assigned (staff); the owner of the shop that requested a delivery while it is pending (shop). The server itself cancels an order still pending after pending_expiry_s (no_crew, cancelled_by null, no note); no request can. Otherwise 409 invalid_transition; others who may see the order 403. The order and its cancellation's history event record cancel_reason, cancel_note and cancelled_by.",
           "requestBody": dict(body(ref("CancelOrderRequest")), required=False),
           "responses": {"200": ok("The order", ref("Order")), **common_body, **auth_errs, "404": resp("NotFound"), "409": resp("Conflict"), **common_db}}}

# --- Delivery crews, delivery requests, staff ---
doc["tags"].append({"name": "crews", "description": "Delivery crews: position, status, pending orders near them, the order journey"})
doc["tags"].append({"name": "staff", "description": "Staff: crews, overview, assignment, live events"})
crew_only = [{"bearerAuth": []}]
S["Crew"] = {"type": "object", "required": ["id", "username", "status", "location", "last_seen", "current_order_ids", "coins", "number_of_deliveries"],
  "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "status": {"type": "string", "enum": ["available", "offline"]},
    "location": {"type": "object", "nullable": True, "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
                 "description": "null before the first report; the last position the crew reported (committed before its 204)"},
    "last_seen": dict(ts, nullable=True), "current_order_ids": {"type": "array", "items": {"type": "integer"}},
    "coins": {"type": "integer"}, "number_of_deliveries": {"type": "integer"}}}
S["CrewLocationRequest"] = {"type": "object", "required": ["latitude", "longitude"],
  "properties": {"latitude": {"type": "number", "minimum": -90, "maximum": 90}, "longitude": {"type": "number", "minimum": -180, "maximum": 180}}}
S["CrewStatusRequest"] = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["available", "offline"]}}}
S["PendingOrder"] = {"allOf": [ref("Order"), {"type": "object", "required": ["distance_km"], "properties": {"distance_km": {"type": "number", "description": "to the order's nearest shop (a delivery request: the requesting shop)"}}}]}
S["DeliverRequest"] = {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}
S["AssignRequest"] = {"type": "object", "required": ["crew_id"], "properties": {"crew_id": {"type": "integer"}}}
S["DeliveryRequestRequest"] = {"type": "object", "required": ["receiver_name", "receiver_phone", "location", "price"],
  "properties": {"receiver_name": {"type": "string", "minLength": 1, "maxLength": 200}, "receiver_phone": phone, "location": ref("Location"),
    "price": dict(dec, description="> 0; becomes the order's delivery_fee and total"), "notes": {"type": "string"}}}
S["CrewAccountRequest"] = {"type": "object", "required": ["username", "password", "phone_number"],
  "properties": {"username": username, "password": {"type": "string", "minLength": 8}, "phone_number": phone, "first_name": {"type": "string"}, "last_name": {"type": "string"}, "email": {"type": "string"}, "home_location": home_location}}
S["StaffOverview"] = {"type": "object", "required": ["orders_by_status", "active_crews", "orders_last_hour", "revenue_today"],
  "properties": {"orders_by_status": {"type": "object", "properties": {k: {"type": "integer"} for k in ["pending", "assigned", "picked_up", "delivered", "cancelled"]}},
    "active_crews": {"type": "integer", "description": "crews with status available"}, "orders_last_hour": {"type": "integer"},
    "revenue_today": dict(dec, description="totals of orders delivered since midnight UTC")}}
order_ok = {"200": ok("The whole order", ref("Order"))}
act_errs = {"401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), "409": resp("Conflict"), **common_db}
P["/api/v1/crew/location"] = {"put": {"operationId": "reportCrewLocation", "tags": ["crews"], "summary": "Report the crew's live position", "security": crew_only,
  "description": "Answered 204 once the position is committed to PostgreSQL (positions of many crews are written together); published to staff streams.",
  "requestBody": body(ref("CrewLocationRequest")), "responses": {"204": {"description": "Recorded"}, **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/crew/status"] = {"put": {"operationId": "setCrewStatus", "tags": ["crews"], "summary": "Go available or offline", "security": crew_only,
  "requestBody": body(ref("CrewStatusRequest")), "responses": {"200": ok("The crew", ref("Crew")), **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/crew/orders/pending"] = {"get": {"operationId": "listPendingOrdersNearCrew", "tags": ["crews"], "summary": "Pending orders near the crew, nearest first", "security": crew_only,
  "description": "From the dispatcher's in-memory index. radius_km is a listing filter only: a crew may accept any pending order. Before the crew reported a position: 409 location_required.",
  "parameters": page_params + [{"name": "radius_km", "in": "query", "schema": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "default": 10}}],
  "responses": {"200": ok("A page of pending orders", paged("PendingOrder")), "400": resp("BadRequest"), "401": resp("Unauthorized"), "403": resp("Forbidden"), "409": resp("Conflict"), **common_db}}}
P["/api/v1/crew/orders"] = {"get": {"operationId": "listCrewOrders", "tags": ["crews"], "summary": "The crew's current and past orders, newest first", "security": crew_only,
  "parameters": page_params, "responses": {"200": ok("A page of orders", paged("Order")), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/orders/{id}/accept"] = {"parameters": id_param, "post": {"operationId": "acceptOrder", "tags": ["crews"], "summary": "Take a pending order", "security": crew_only,
  "description": "Exactly one of any number of concurrent accepts wins; the others get 409 already_assigned. 409 crew_busy beyond crew_max_orders undelivered orders (default 3); 409 crew_offline for an offline crew.",
  "responses": {**order_ok, **act_errs}}}
S["CrewOffer"] = {"type": "object", "required": ["order_id", "shops", "location", "distance_km", "items_total", "delivery_fee", "expires_at"],
  "properties": {"order_id": {"type": "integer"},
    "shops": {"type": "array", "items": {"type": "object", "required": ["id", "name", "latitude", "longitude"],
      "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "latitude": {"type": "number"}, "longitude": {"type": "number"}}},
      "description": "the shops to buy at (a delivery request: the requesting shop)"},
    "location": ref("Location"), "distance_km": {"type": "number", "description": "from the crew to the order's nearest shop when offered"},
    "items_total": dec, "delivery_fee": dec,
    "expires_at": dict(ts, description="a whole second: offer_timeout_s after the offer, rounded up; then it goes to the next crew")}}
P["/api/v1/orders/{id}/decline"] = {"parameters": id_param, "post": {"operationId": "declineOffer", "tags": ["crews"], "summary": "Decline the order offered to the crew", "security": crew_only,
  "description": "204 once the refusal is committed; the order is offered to the next nearest free crew that has not had it, and not to this crew again before reoffer_after_s. 409 not_offered when the order has no open offer to this crew (another crew's, expired, or never offered).",
  "responses": {"204": {"description": "Declined"}, "401": resp("Unauthorized"), "403": resp("Forbidden"), "409": resp("Conflict"), **common_db}}}
P["/api/v1/crew/offer"] = {"get": {"operationId": "getCrewOffer", "tags": ["crews"], "summary": "The crew's open offer", "security": crew_only,
  "description": "Answered from memory, cheap enough for crew apps in the background to poll. A crew has at most one open offer. Accept it with POST /orders/{id}/accept, refuse it with POST /orders/{id}/decline.",
  "responses": {"200": ok("The open offer", ref("CrewOffer")), "204": {"description": "No open offer"}, "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/crew/events"] = {"get": {"operationId": "streamCrewEvents", "tags": ["crews"], "summary": "Offers and the crew's orders, live (Server-Sent Events)", "security": crew_only,
  "description": "On every connect the open offer, if any, comes first (`event: offer`). Then: `offer` (a CrewOffer), `offer_withdrawn` `{order_id, reason}` (expired — also when the crew goes offline —, taken by another crew or staff, cancelled), `assigned` `{order_id, by_user_id}` (staff assigned an order to the crew), `order_reassigned` `{order_id, crew_id, by_user_id}` (staff gave an order the crew held to another crew: an extension of API.md), `order_cancelled` `{order_id, reason}` (an order the crew held). Event ids are per stream and only give the order; nothing is replayed: after a reconnect read GET /crew/offer and GET /crew/orders. Keepalive comments every sse_keepalive_s; `?access_token=` is accepted as for order streams.",
  "parameters": [{"name": "access_token", "in": "query", "required": False, "schema": {"type": "string"}, "description": "for EventSource, which cannot send headers"}],
  "responses": {"200": ok("The event stream", {"type": "string"}, "text/event-stream"), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/orders/{id}/items/{item_id}/bought"] = {"parameters": id_param + [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
  "post": {"operationId": "markItemBought", "tags": ["crews"], "summary": "The assigned crew bought an item at its shop", "security": crew_only, "responses": {**order_ok, **act_errs}}}
P["/api/v1/orders/{id}/pickup"] = {"parameters": id_param, "post": {"operationId": "pickUpOrder", "tags": ["crews"], "summary": "assigned → picked_up (the assigned crew)", "security": crew_only, "responses": {**order_ok, **act_errs}}}
P["/api/v1/orders/{id}/deliver"] = {"parameters": id_param, "post": {"operationId": "deliverOrder", "tags": ["crews"], "summary": "picked_up → delivered with the customer's code", "security": crew_only,
  "description": "Wrong code: 400 invalid_code (attempts_left in the error); after 5 wrong codes 409 code_locked until staff unlock. Delivery adds the order's coins and a delivery to the crew in the same transaction.",
  "requestBody": body(ref("DeliverRequest")), "responses": {**order_ok, **common_body, **act_errs}}}
P["/api/v1/orders/{id}/unlock-code"] = {"parameters": id_param, "post": {"operationId": "unlockDeliveryCode", "tags": ["staff"], "summary": "Let the crew try the delivery code again", "security": staff, "responses": {**order_ok, **act_errs}}}
P["/api/v1/orders/{id}/assign"] = {"parameters": id_param, "post": {"operationId": "assignOrder", "tags": ["staff"], "summary": "Assign or reassign a pending or assigned order", "security": staff,
  "description": "Crew limits apply (crew_busy); an offline crew may be assigned by staff. The previous crew loses the order. Unknown crew: 400 on crew_id.",
  "requestBody": body(ref("AssignRequest")), "responses": {**order_ok, **common_body, **act_errs}}}
P["/api/v1/shops/{id}/delivery-requests"] = {"parameters": id_param, "post": {"operationId": "requestDelivery", "tags": ["orders"], "summary": "A shop asks for a package delivery (the shop's owner)", "security": crew_only,
  "requestBody": body(ref("DeliveryRequestRequest")), "responses": {"201": ok("The order (type delivery_request)", ref("Order")), **common_body, **act_errs}}}
P["/api/v1/staff/crews"] = {
  "post": {"operationId": "createCrew", "tags": ["staff"], "summary": "Register a delivery crew", "security": staff,
           "requestBody": body(ref("CrewAccountRequest")), "responses": {"201": ok("The crew's user", ref("User")), **common_body, "401": resp("Unauthorized"), "403": resp("Forbidden"), "409": resp("Conflict"), **common_db}},
  "get": {"operationId": "listCrews", "tags": ["staff"], "summary": "Crews, by username", "security": staff,
          "parameters": page_params + [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["available", "offline"]}}],
          "responses": {"200": ok("A page of crews", paged("Crew")), "400": resp("BadRequest"), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/staff/overview"] = {"get": {"operationId": "staffOverview", "tags": ["staff"], "summary": "Orders by status, active crews, orders in the last hour, revenue today", "security": staff,
  "responses": {"200": ok("The overview", ref("StaffOverview")), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
S["StaffOffer"] = {"type": "object", "required": ["order_id", "crew_id", "expires_at", "distance_km"],
  "properties": {"order_id": {"type": "integer"}, "crew_id": {"type": "integer"}, "expires_at": ts,
    "distance_km": {"type": "number", "description": "from the crew to the order's nearest shop when offered"}}}
P["/api/v1/staff/offers"] = {"get": {"operationId": "listOpenOffers", "tags": ["staff"], "summary": "Every open offer", "security": staff,
  "description": "Which crew each pending order is offered to now and until when (dispatch_mode offer; an empty list in browse mode), by order id, from the dispatcher's memory. The console reads it whenever it re-reads the board; `event: offer` and `offer_withdrawn` on GET /staff/events keep it current.",
  "responses": {"200": ok("The open offers", {"type": "array", "items": ref("StaffOffer")}), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/staff/events"] = {"get": {"operationId": "staffEvents", "tags": ["staff"], "summary": "Live order and crew changes, offers and unattended orders (Server-Sent Events)", "security": staff,
  "description": "`event: order` with {order_id, status, at, crew_id} on every order status change; `event: crew` with {crew_id, status, latitude, longitude, at} on crew status and position changes; `event: order_unattended` with {order_id, pending_since} (pending_since: the order's created_at, e.g. `{\"order_id\":17,\"pending_since\":\"2026-11-24T19:30:00Z\"}`) when an order has been pending for `pending_alert_s` (default 300) — once per order per server run, so after a restart an order already past it is announced once more; after `pending_expiry_s` (default 1800, 0 = never) the server cancels it with cancel_reason no_crew and cancelled_by null, heard here as its `event: order` with status cancelled. Both apply in either dispatch mode. With dispatch_mode offer: `event: offer` with {order_id, crew_id, expires_at, distance_km} when an order is offered to a crew, and `event: offer_withdrawn` with {order_id, crew_id, reason} when that offer ends without the crew taking it (reason expired, taken, cancelled or declined); an accepted offer is heard as the order's `event: order` with status assigned. Offers made before the stream opened are not replayed: read them with GET /api/v1/staff/offers after (re)connecting. Keepalive comments as for order streams.",
  "responses": {"200": ok("The event stream", {"type": "string"}, "text/event-stream"), "401": resp("Unauthorized"), "403": resp("Forbidden")}}}

# --- Shop analytics ---
doc["tags"].append({"name": "analytics", "description": "Shop analytics: delivered orders only, this shop's lines only, chart-ready"})
date_q = lambda n, d: {"name": n, "in": "query", "schema": {"type": "string", "format": "date"}, "description": d}
tz_q = {"name": "tz", "in": "query", "schema": {"type": "string", "default": "UTC", "example": "Africa/Cairo"}, "description": "IANA time zone of the periods and dates (whole-hour offsets are exact)"}
S["SalesPeriod"] = {"type": "object", "required": ["period", "orders", "quantity", "revenue", "cost", "profit"],
  "properties": {"period": {"type": "string", "example": "2026-11", "description": "YYYY-MM or YYYY"}, "orders": {"type": "integer"},
    "quantity": {"type": "number"}, "revenue": dec, "cost": dict(dec, description="from each line's cost snapshot (0 when unknown)"),
    "profit": dict(dec, description="revenue − cost")}}
S["ProductSales"] = {"type": "object", "required": ["product_id", "name", "quantity", "revenue"],
  "properties": {"product_id": {"type": "integer"}, "name": {"type": "string"}, "quantity": {"type": "number"}, "revenue": dec}}
S["SalesSummary"] = {"type": "object", "required": ["orders_today", "revenue_today", "revenue_month", "revenue_year", "top_product"],
  "properties": {"orders_today": {"type": "integer"}, "revenue_today": dec, "revenue_month": dec, "revenue_year": dec,
    "top_product": {"type": "object", "nullable": True, "description": "this month's best seller by quantity",
                    "properties": {"product_id": {"type": "integer"}, "name": {"type": "string"}, "quantity": {"type": "number"}}}}}
an_errs = {"400": resp("BadRequest"), "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}
P["/api/v1/shops/{id}/analytics/sales"] = {"parameters": id_param, "get": {"operationId": "shopSales", "tags": ["analytics"],
  "summary": "Orders, quantity, revenue, cost and profit per month or year, every period present", "security": managers,
  "parameters": [{"name": "granularity", "in": "query", "schema": {"type": "string", "enum": ["month", "year"], "default": "month"}},
                 date_q("from", "inclusive; default: 12 months (month) or 5 years (year) back"), date_q("to", "inclusive; default today"), tz_q],
  "responses": {"200": ok("Periods, ascending", {"type": "array", "items": ref("SalesPeriod")}), **an_errs}}}
P["/api/v1/shops/{id}/analytics/top-products"] = {"parameters": id_param, "get": {"operationId": "shopTopProducts", "tags": ["analytics"],
  "summary": "Products by quantity sold, descending", "security": managers,
  "parameters": [date_q("from", "inclusive; default 12 months back"), date_q("to", "inclusive; default today"), tz_q,
                 {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}}],
  "responses": {"200": ok("Products", {"type": "array", "items": ref("ProductSales")}), **an_errs}}}
P["/api/v1/shops/{id}/analytics/summary"] = {"parameters": id_param, "get": {"operationId": "shopSalesSummary", "tags": ["analytics"],
  "summary": "Today, this month, this year and this month's top product", "security": managers, "parameters": [tz_q],
  "responses": {"200": ok("The summary", ref("SalesSummary")), **an_errs}}}

# --- Operators ---
doc["tags"].append({"name": "operators", "description": "Inspecting the live actors (staff)"})
S["ActorKindFigures"] = {"type": "object", "properties": {"live": {"type": "integer"}, "activations": {"type": "integer"},
  "passivated_total": {"type": "integer"}, "mailbox_max": {"type": "integer"}, "mailbox_total": {"type": "integer"},
  "mailbox_unanswered": {"type": "integer", "description": "live actors that did not answer the survey within 1 s"}}}
S["ActorsOverview"] = {"type": "object", "required": ["kinds", "persistence", "event_bus"],
  "properties": {"kinds": {"type": "object", "additionalProperties": ref("ActorKindFigures")},
    "persistence": {"type": "object", "properties": {k: {"type": "number"} for k in ["queue_depth", "batches", "commands", "avg_batch_size", "failed_batches", "workers", "busy_workers"]}},
    "event_bus": {"type": "object", "properties": {"subscribers": {"type": "integer"}}}}}
P["/api/v1/admin/actors"] = {"get": {"operationId": "adminActors", "tags": ["operators"], "summary": "Live actors by kind with mailbox sizes; persistence and event-bus figures", "security": staff,
  "description": "Each live actor answers for its own mailbox as a message in turn (1 s deadline), so inspection never stalls an actor.",
  "responses": {"200": ok("The figures", ref("ActorsOverview")), "401": resp("Unauthorized"), "403": resp("Forbidden"), **common_db}}}
P["/api/v1/admin/actors/{kind}/{id}"] = {"parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"type": "string", "enum": ["order", "shop", "crew", "cart"]}}] + id_param,
  "get": {"operationId": "adminActorState", "tags": ["operators"], "summary": "A live actor's state (cereal JSON of its own state type); 404 if not live — nothing is activated", "security": staff,
  "responses": {"200": ok("The state", {"type": "object", "properties": {"kind": {"type": "string"}, "id": {"type": "integer"}, "state": {"type": "object"}}}),
                "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db},
  "description": "Cluster mode: asked of the node that serves the entity's shard (forwarded over NATS), so any node shows it; without routing, `503 not_owner` naming that node."}}
P["/api/v1/admin/cluster"] = {
  "get": {"operationId": "adminCluster", "tags": ["operators"], "summary": "Cluster mode: this node's shards, and every shard lease and node as this node's last lease round read them from PostgreSQL (mode single: single-node mode, lists empty)", "security": staff,
  "description": "See CLUSTER.md. An entity's shard is its id modulo `shards`; a node serves the shards in `held`. With routing (cluster_nats_url), a request for any other entity is forwarded over NATS to the node that serves it; without, or while NATS is unreachable, it is answered `503 not_owner` with `owner_node` and `owner_url` when known.",
  "responses": {"200": ok("The cluster as this node sees it", {"type": "object", "properties": {
      "mode": {"type": "string", "enum": ["single", "cluster"]}, "node": {"type": "string"}, "shards": {"type": "integer"}, "lease_ttl_ms": {"type": "integer"},
      "held": {"type": "array", "items": {"type": "integer"}},
      "leases": {"type": "array", "items": {"type": "object", "properties": {"shard": {"type": "integer"}, "node": {"type": "string", "nullable": True, "description": "null: free"}, "epoch": {"type": "integer"}, "expires_in_ms": {"type": "integer"}}}},
      "nodes": {"type": "array", "items": {"type": "object", "properties": {"node": {"type": "string"}, "url": {"type": "string"}, "live": {"type": "boolean"}}}},
      "rounds": {"type": "integer"}, "failed_rounds": {"type": "integer"}, "claimed": {"type": "integer"}, "released": {"type": "integer"}, "lost": {"type": "integer"}, "last_error": {"type": "string"},
      "routing": {"type": "object", "description": "Forwarding to other nodes over NATS", "properties": {"state": {"type": "string", "enum": ["off", "connecting", "connected", "disconnected"], "description": "off: no cluster_nats_url (or single-node mode)"}, "forwarded": {"type": "integer", "description": "requests forwarded to their owner and answered by it"}, "fallbacks": {"type": "integer", "description": "forwards answered 503 not_owner instead: nobody served the shard within the deadline, or NATS was unreachable (nothing was done)"}, "timeouts": {"type": "integer", "description": "forwards not answered within the request's deadline (504)"}, "served_for_others": {"type": "integer", "description": "requests other nodes forwarded here"}, "events_out": {"type": "integer", "description": "events of this node published on NATS for the other nodes"}, "events_in": {"type": "integer", "description": "events of other nodes delivered to this node's SSE streams and dispatcher"}}}}}),
                "401": resp("Unauthorized"), "403": resp("Forbidden")}}}

# --- Images ---
doc["tags"].append({"name": "images", "description": "Pictures of shops, shop categories, products and offers: uploaded, checked, resized, served"})
picture_body = {"required": True, "description": "The picture: JPEG, PNG or WebP (HEIC where the server reads it), judged by its bytes, at most 10 MiB (max_image_bytes) and 40 megapixels (max_image_pixels); as the raw body, or the field `image` of multipart/form-data",
  "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in ["image/jpeg", "image/png", "image/webp"]}}
picture_body["content"]["multipart/form-data"] = {"schema": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary"}}}}
upload_errs = {"400": dict(resp("BadRequest")), "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"),
  "413": resp("PayloadTooLarge"), "415": resp("UnsupportedMediaType"), "429": resp("RateLimited"), **common_db}
for path, schema, who, op, what in [
    ("/api/v1/shops/{id}/image", "Shop", "its owner, staff", "ShopImage", "a shop"),
    ("/api/v1/shop-categories/{id}/image", "ShopCategory", "staff", "ShopCategoryImage", "a shop category"),
    ("/api/v1/products/{id}/image", "Product", "the shop's owner, staff", "ProductImage", "a product"),
    ("/api/v1/offers/{id}/image", "Offer", "the shop's owner, staff", "OfferImage", "an offer")]:
  security = staff if who == "staff" else managers
  P[path] = {"parameters": id_param,
    "put": {"operationId": "upload" + op, "tags": ["images"], "summary": "Upload the picture of " + what + " (" + who + ")", "security": security,
      "description": "Access is checked before the picture is decoded. The picture is auto-rotated, converted to sRGB and stripped of all metadata (EXIF, GPS); renditions large (<= 1600 px), medium (<= 640), thumb (<= 160) are stored as WebP (alpha kept) and JPEG (flattened onto white). 400 invalid_image: corrupt, truncated or over 40 megapixels; 415: not JPEG, PNG or WebP whatever the Content-Type says; 429: the per-user upload rate (upload_rate_per_minute); 503 with Retry-After: every picture worker busy, or the store cannot take it. Uploads have upload_timeout_s (default 120) to arrive.",
      "requestBody": picture_body, "responses": {"200": ok("The whole resource with its picture", ref(schema)), **upload_errs}},
    "delete": {"operationId": "delete" + op, "tags": ["images"], "summary": "Remove the picture of " + what + " (" + who + ")", "security": security,
      "responses": {"200": ok("The whole resource without a picture", ref(schema)), "401": resp("Unauthorized"), "403": resp("Forbidden"), "404": resp("NotFound"), **common_db}}}
media_key = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}-(large|medium|thumb)$"}}]
media_headers = {"ETag": {"schema": {"type": "string"}, "description": "per format"}, "Vary": {"schema": {"type": "string", "enum": ["Accept"]}},
  "Cache-Control": {"schema": {"type": "string", "enum": ["public, max-age=31536000, immutable"]}}, "X-Content-Type-Options": {"schema": {"type": "string", "enum": ["nosniff"]}}}
media_params = media_key + [{"name": "Accept", "in": "header", "schema": {"type": "string"}, "description": "WebP when it lists image/webp, else JPEG"},
  {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}]
media_ok = {"description": "The rendition", "headers": media_headers,
  "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}, "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
P["/media/{key}"] = {"parameters": media_params,
  "get": {"operationId": "getMedia", "tags": ["images"], "summary": "One rendition of a picture (no /api/v1 prefix)", "security": [{}],
          "responses": {"200": media_ok, "304": {"description": "Not modified (If-None-Match matched)", "headers": media_headers}, "404": resp("NotFound")}},
  "head": {"operationId": "headMedia", "tags": ["images"], "summary": "The headers GET would send", "security": [{}],
          "responses": {"200": {"description": "Headers only", "headers": media_headers}, "304": {"description": "Not modified"}, "404": {"description": "No such picture"}}}}

# Operations anyone may call say so (`security: []`): client generators and linters otherwise
# cannot tell "no authentication" from "forgot to document it".
for path_item in P.values():
  for method, op in path_item.items():
    if method in ("get", "put", "post", "patch", "delete", "head", "options") and "security" not in op:
      op["security"] = []
    if method in ("get", "put", "post", "patch", "delete", "head", "options") and op.get("security") == [{}]:
      op["security"] = []

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
