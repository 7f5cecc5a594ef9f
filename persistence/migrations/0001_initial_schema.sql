-- The whole schema of API.md. Money is numeric(12,2); stock and quantities numeric(12,3).

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('customer', 'shop_owner', 'delivery_crew', 'staff')),
  first_name    text NOT NULL DEFAULT '',
  last_name     text NOT NULL DEFAULT '',
  email         text NOT NULL DEFAULT '',
  phone_number  text NOT NULL,
  is_active     boolean NOT NULL DEFAULT true,
  date_joined   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_username_key UNIQUE (username),
  CONSTRAINT users_phone_number_key UNIQUE (phone_number),
  CHECK (username ~ '^[A-Za-z0-9_.@+-]{3,150}$'),
  CHECK (phone_number ~ '^\+?[0-9]{7,15}$')
);

CREATE TABLE delivery_crews (
  user_id              bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  coins                bigint NOT NULL DEFAULT 0 CHECK (coins >= 0),
  number_of_deliveries bigint NOT NULL DEFAULT 0 CHECK (number_of_deliveries >= 0),
  status               text NOT NULL DEFAULT 'offline' CHECK (status IN ('available', 'offline')),
  latitude             double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude            double precision CHECK (longitude BETWEEN -180 AND 180),
  last_seen            timestamptz
);

CREATE TABLE refresh_tokens (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE shop_categories (
  id    bigserial PRIMARY KEY,
  name  text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  image text NOT NULL DEFAULT ''
);

CREATE TABLE locations (
  id        bigserial PRIMARY KEY,
  address   text NOT NULL DEFAULT '',
  latitude  double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
  longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180)
);

CREATE TABLE shops (
  id               bigserial PRIMARY KEY,
  owner_id         bigint NOT NULL REFERENCES users (id),
  category_id      bigint NOT NULL REFERENCES shop_categories (id),
  location_id      bigint NOT NULL REFERENCES locations (id),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description      text NOT NULL DEFAULT '',
  phone_number     text NOT NULL CHECK (phone_number ~ '^\+?[0-9]{7,15}$'),
  facebook_url     text NOT NULL DEFAULT '',
  image            text NOT NULL DEFAULT '',
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  confirmed_orders bigint NOT NULL DEFAULT 0 CHECK (confirmed_orders >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shops_owner_idx ON shops (owner_id);
CREATE INDEX shops_category_idx ON shops (category_id);
CREATE INDEX shops_name_lower_idx ON shops (lower(name));

CREATE TABLE product_categories (
  id      bigserial PRIMARY KEY,
  shop_id bigint NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
  name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  CONSTRAINT product_categories_shop_name_key UNIQUE (shop_id, name)
);

CREATE TABLE products (
  id               bigserial PRIMARY KEY,
  shop_id          bigint NOT NULL REFERENCES shops (id),
  category_id      bigint REFERENCES product_categories (id) ON DELETE SET NULL,
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description      text NOT NULL DEFAULT '',
  price            numeric(12, 2) NOT NULL CHECK (price >= 0),
  cost_price       numeric(12, 2) CHECK (cost_price >= 0),
  stock            numeric(12, 3) NOT NULL DEFAULT 0 CHECK (stock >= 0),
  is_unlimited     boolean NOT NULL DEFAULT false,
  quantity_type    text NOT NULL DEFAULT 'unit'
                   CHECK (quantity_type IN ('unit', 'kg', 'gram', 'liter', 'box')),
  minimum_quantity numeric(12, 3) NOT NULL DEFAULT 1 CHECK (minimum_quantity > 0),
  increment_rate   numeric(12, 3) NOT NULL DEFAULT 1 CHECK (increment_rate > 0),
  image            text NOT NULL DEFAULT '',
  is_hidden        boolean NOT NULL DEFAULT false,
  sales_count      numeric(14, 3) NOT NULL DEFAULT 0 CHECK (sales_count >= 0),
  deleted_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_shop_idx ON products (shop_id) WHERE deleted_at IS NULL;
CREATE INDEX products_category_idx ON products (category_id);

CREATE TABLE offers (
  id           bigserial PRIMARY KEY,
  shop_id      bigint NOT NULL REFERENCES shops (id),
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description  text NOT NULL DEFAULT '',
  url          text NOT NULL DEFAULT '',
  image        text NOT NULL DEFAULT '',
  discount     numeric(5, 2) NOT NULL CHECK (discount > 0 AND discount <= 100),
  start_date   timestamptz NOT NULL,
  end_date     timestamptz NOT NULL,
  is_sponsored boolean NOT NULL DEFAULT false,
  deleted_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date > start_date)
);
CREATE INDEX offers_shop_idx ON offers (shop_id);
CREATE INDEX offers_period_idx ON offers (start_date, end_date) WHERE deleted_at IS NULL;

CREATE TABLE offer_products (
  offer_id   bigint NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES products (id),
  PRIMARY KEY (offer_id, product_id)
);
CREATE INDEX offer_products_product_idx ON offer_products (product_id);

CREATE TABLE carts (
  user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES products (id),
  shop_id    bigint NOT NULL REFERENCES shops (id),
  quantity   numeric(12, 3) NOT NULL CHECK (quantity > 0),
  added_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cart_items_user_product_key UNIQUE (user_id, product_id)
);

CREATE TABLE orders (
  id                bigserial PRIMARY KEY,
  type              text NOT NULL DEFAULT 'order' CHECK (type IN ('order', 'delivery_request')),
  code              text NOT NULL UNIQUE,
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'assigned', 'picked_up', 'delivered', 'cancelled')),
  user_id           bigint NOT NULL REFERENCES users (id),
  requesting_shop_id bigint REFERENCES shops (id),
  crew_id           bigint REFERENCES delivery_crews (user_id),
  receiver_name     text NOT NULL,
  receiver_phone    text NOT NULL,
  address           text NOT NULL DEFAULT '',
  latitude          double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
  longitude         double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
  notes             text NOT NULL DEFAULT '',
  items_total       numeric(12, 2) NOT NULL DEFAULT 0 CHECK (items_total >= 0),
  delivery_fee      numeric(12, 2) NOT NULL DEFAULT 0 CHECK (delivery_fee >= 0),
  total             numeric(12, 2) NOT NULL DEFAULT 0 CHECK (total = items_total + delivery_fee),
  coins             bigint NOT NULL DEFAULT 0 CHECK (coins >= 0),
  wrong_code_count  int NOT NULL DEFAULT 0,
  code_locked       boolean NOT NULL DEFAULT false,
  version           bigint NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz,
  CHECK ((status = 'pending') = (crew_id IS NULL) OR status = 'cancelled'),
  CHECK (type = 'order' OR requesting_shop_id IS NOT NULL)
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_crew_idx ON orders (crew_id, created_at DESC);
CREATE INDEX orders_status_idx ON orders (status, created_at DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC);
CREATE INDEX orders_open_idx ON orders (id) WHERE status IN ('pending', 'assigned', 'picked_up');

CREATE TABLE order_items (
  id            bigserial PRIMARY KEY,
  order_id      bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id    bigint NOT NULL REFERENCES products (id),
  shop_id       bigint NOT NULL REFERENCES shops (id),
  name          text NOT NULL,
  quantity      numeric(12, 3) NOT NULL CHECK (quantity > 0),
  unit_price    numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
  unit_cost     numeric(12, 2) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
  line_total    numeric(14, 2) NOT NULL CHECK (line_total >= 0),
  is_bought     boolean NOT NULL DEFAULT false
);
CREATE INDEX order_items_order_idx ON order_items (order_id);
CREATE INDEX order_items_shop_idx ON order_items (shop_id, order_id);

CREATE TABLE order_events (
  order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  seq        int NOT NULL,
  status     text NOT NULL,
  crew_id    bigint,
  by_user_id bigint,
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, seq)
);

CREATE TABLE idempotency_keys (
  user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status       int NOT NULL,
  body         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Per shop × product × UTC day totals of delivered lines, maintained in the delivering
-- transaction so analytics never scan order lines.
CREATE TABLE sales_daily (
  shop_id    bigint NOT NULL REFERENCES shops (id),
  product_id bigint NOT NULL REFERENCES products (id),
  day        date NOT NULL,
  orders     bigint NOT NULL DEFAULT 0,
  quantity   numeric(16, 3) NOT NULL DEFAULT 0,
  revenue    numeric(16, 2) NOT NULL DEFAULT 0,
  cost       numeric(16, 2) NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, day, product_id)
);
