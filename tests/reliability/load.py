"""Full-speed order traffic that logs every response, and the check of that log against the
database: every acknowledged (2xx) change is there exactly once, and the data rules hold.

Customers place orders (each with a fresh Idempotency-Key, retried with the same key after a
transport failure, as a careful app would) and cancel some; crews accept pending orders, pick
them up and deliver them with the customer's code."""

import random
import threading
import time
import uuid

from harness import Client, World, log, order_body, psql


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []  # (kind, actor_id, key, order_id, status, code, started, elapsed)

    def add(self, kind, actor, key, order_id, r):
        with self.lock:
            self.records.append((kind, actor, key, order_id, r.status, r.code, r.started,
                                 r.elapsed))

    def snapshot(self):
        with self.lock:
            return list(self.records)


class Load:
    def __init__(self, port, shops=3, products_per_shop=3, customers=4, crews=3, stock=100000,
                 scarce_stock=40, timeout=10.0, cancel_rate=0.15):
        self.port = port
        w = World(port)
        self.world = w
        self.initial_stock = {}
        self.products = []
        self.shop_of = {}
        for _ in range(shops):
            s = w.shop()
            for i in range(products_per_shop):
                # One scarce product per shop, so out_of_stock answers are part of the load.
                st = scarce_stock if i == 0 else stock
                p = w.product(s, st)
                self.initial_stock[p] = st
                self.products.append(p)
                self.shop_of[p] = s["id"]
        self.customers = [w.customer() for _ in range(customers)]
        self.crews = [w.crew() for _ in range(crews)]
        self.timeout = timeout
        self.cancel_rate = cancel_rate
        self.ledger = Ledger()
        self.codes = {}  # order id -> confirmation code (known from 201 answers)
        self.codes_lock = threading.Lock()
        self.running = threading.Event()
        self.threads = []
        self.transport_errors = 0
        self.count_lock = threading.Lock()
        self.phase = None  # optional label stored with records by callers

    # -- traffic ----------------------------------------------------------------------------

    def start(self):
        self.running.set()
        for c in self.customers:
            t = threading.Thread(target=self._customer, args=(c,), daemon=True)
            self.threads.append(t)
        for c in self.crews:
            t = threading.Thread(target=self._crew, args=(c,), daemon=True)
            self.threads.append(t)
        for t in self.threads:
            t.start()

    def stop(self):
        self.running.clear()
        for t in self.threads:
            t.join(60)
        self.threads = []

    def _transport_error(self):
        with self.count_lock:
            self.transport_errors += 1
        time.sleep(0.05)

    def _customer(self, cust):
        cl = Client(self.port, timeout=self.timeout, token=cust["token"])
        rnd = random.Random()
        while self.running.is_set():
            lines = {}
            for p in rnd.sample(self.products, rnd.randint(1, 3)):
                lines[p] = rnd.randint(1, 2)
            shops = {self.shop_of[p] for p in lines}
            if len(shops) > 3:
                continue
            body = order_body(sorted(lines.items()))
            key = uuid.uuid4().hex
            # Retry the same request with the same key while the server is unreachable.
            for attempt in range(200):
                r = cl.post("/api/v1/orders", body, headers={"Idempotency-Key": key})
                oid = r.body.get("id") if r.status == 201 and isinstance(r.body, dict) else None
                self.ledger.add("place", cust["id"], key, oid, r)
                if r.status is None or r.status == 503:
                    self._transport_error()
                    if not self.running.is_set():
                        break
                    continue
                break
            if r.status == 201:
                with self.codes_lock:
                    self.codes[oid] = r.body["code"]
                if rnd.random() < self.cancel_rate:
                    c = cl.post(f"/api/v1/orders/{oid}/cancel")
                    self.ledger.add("cancel", cust["id"], None, oid, c)
                    if c.status is None:
                        self._transport_error()

    def _crew(self, crew):
        cl = Client(self.port, timeout=self.timeout, token=crew["token"])
        rnd = random.Random()
        held = {}  # order id -> status
        resync = True
        while self.running.is_set():
            if resync:
                held = {}
                ok = True
                for status in ("assigned", "picked_up"):
                    r = cl.get(f"/api/v1/orders?status={status}&page_size=100")
                    if r.status != 200:
                        ok = False
                        break
                    for o in r.body["results"]:
                        held[o["id"]] = o["status"]
                if not ok:
                    self._transport_error()
                    continue
                resync = False
            if held:
                oid, status = next(iter(held.items()))
                with self.codes_lock:
                    code = self.codes.get(oid)
                if status == "assigned":
                    r = cl.post(f"/api/v1/orders/{oid}/pickup")
                    self.ledger.add("pickup", crew["id"], None, oid, r)
                    if r.status == 200:
                        held[oid] = "picked_up"
                elif code is None:
                    held.pop(oid)  # cannot deliver without the code; leave it
                    continue
                else:
                    r = cl.post(f"/api/v1/orders/{oid}/deliver", {"code": code})
                    self.ledger.add("deliver", crew["id"], None, oid, r)
                    if r.status == 200:
                        held.pop(oid)
                if r.status is None or r.status >= 500:
                    self._transport_error()
                    resync = True
                elif r.status >= 400:
                    resync = True  # e.g. cancelled meanwhile
                continue
            r = cl.get("/api/v1/crew/orders/pending?radius_km=1000&page_size=50")
            if r.status == 409 and r.code == "location_required":
                cl.put("/api/v1/crew/location", {"latitude": crew["lat"], "longitude": crew["lng"]})
                continue
            if r.status != 200:
                self._transport_error()
                resync = True
                continue
            with self.codes_lock:
                candidates = [o["id"] for o in r.body["results"] if o["id"] in self.codes]
            if not candidates:
                time.sleep(0.005)
                continue
            oid = rnd.choice(candidates[:10])
            r = cl.post(f"/api/v1/orders/{oid}/accept")
            self.ledger.add("accept", crew["id"], None, oid, r)
            if r.status == 200:
                held[oid] = "assigned"
            elif r.status == 409 and r.code == "crew_offline":
                cl.put("/api/v1/crew/status", {"status": "available"})
            elif r.status is None or r.status >= 500:
                self._transport_error()
                resync = True

    # -- the check against the database -----------------------------------------------------

    def verify(self, db_url, coins_per_order):
        """Returns (figures, problems)."""
        recs = self.ledger.snapshot()
        problems = []
        lost = duplicated = 0
        acked = sum(1 for r in recs if r[4] is not None and 200 <= r[4] < 300)
        by_status = {}
        for r in recs:
            by_status[r[4]] = by_status.get(r[4], 0) + 1
        # 503 unavailable and 504 timeout are clean answers (nothing was acknowledged); any
        # other 5xx, or those statuses with another code, is a server error.
        bad = [r for r in recs if r[4] is not None and r[4] >= 500 and
               (r[4], r[5]) not in ((503, "unavailable"), (504, "timeout"))]
        for r in bad[:10]:
            problems.append(f"server error answered: {r}")

        users = ",".join(str(c["id"]) for c in self.customers)
        orders = {int(r[0]): {"user": int(r[1]), "status": r[2], "crew": r[3] and int(r[3])}
                  for r in psql(db_url, "SELECT id, user_id, status, crew_id FROM orders"
                                        f" WHERE user_id IN ({users})")}
        keys = {}
        for user, key, body_id in psql(
                db_url, "SELECT user_id, key, (body::json->'order'->>'id') FROM idempotency_keys"
                        " WHERE status = 201"):
            keys[(int(user), key)] = int(body_id)
        events = {}
        for oid, seq, status, crew in psql(
                db_url, "SELECT order_id, seq, status, crew_id FROM order_events ORDER BY 1, 2"):
            events.setdefault(int(oid), []).append((int(seq), status, crew and int(crew)))

        # Placements: every 201 is an order, once; one key never answers two orders.
        placed = {}
        for kind, user, key, oid, status, _, _, _ in recs:
            if kind != "place" or status != 201:
                continue
            if key in placed and placed[key][1] != oid:
                duplicated += 1
                problems.append(f"key {key} answered orders {placed[key][1]} and {oid}")
            placed[key] = (user, oid)
        for key, (user, oid) in placed.items():
            o = orders.get(oid)
            if o is None or o["user"] != user:
                lost += 1
                problems.append(f"acknowledged order {oid} (key {key}) is not in the database")
            elif keys.get((user, key)) != oid:
                lost += 1
                problems.append(f"key {key} of order {oid} is not recorded for it")
        if len(orders) != len(keys) or set(orders) != set(keys.values()):
            extra = set(orders) - set(keys.values())
            duplicated += len(extra)
            problems.append(f"{len(orders)} orders but {len(keys)} keys; orders without their"
                            f" key: {sorted(extra)[:10]}")

        # Order actions: each acknowledged one is in the database, once.
        def count_events(oid, status, crew=None):
            return sum(1 for s, st, c in events.get(oid, []) if st == status and
                       (crew is None or c == crew))

        for kind, actor, _, oid, status, _, _, _ in recs:
            if kind == "place" or status != 200:
                continue
            o = orders.get(oid)
            want = {"accept": "assigned", "pickup": "picked_up", "deliver": "delivered",
                    "cancel": "cancelled"}[kind]
            crew = actor if kind != "cancel" else None
            n = count_events(oid, want, crew)
            if o is None or n == 0:
                lost += 1
                problems.append(f"acknowledged {kind} of order {oid} by {actor} not in events")
            elif n > 1:
                duplicated += 1
                problems.append(f"{kind} of order {oid} recorded {n} times")
            if kind in ("accept", "pickup", "deliver") and o and o["crew"] != actor:
                lost += 1
                problems.append(f"order {oid} acknowledged to crew {actor} has crew {o['crew']}")
            if kind == "deliver" and o and o["status"] != "delivered":
                lost += 1
                problems.append(f"delivered order {oid} has status {o['status']}")
            if kind == "cancel" and o and o["status"] != "cancelled":
                lost += 1
                problems.append(f"cancelled order {oid} has status {o['status']}")

        # Data rules.
        for oid, evs in events.items():
            crews = {c for _, st, c in evs if st == "assigned"}
            if len(crews) > 1:
                duplicated += 1
                problems.append(f"order {oid} assigned to crews {sorted(crews)}")
            last = evs[-1][1]
            if orders.get(oid) and orders[oid]["status"] != last:
                problems.append(f"order {oid} status {orders[oid]['status']} but last event {last}")
        for row in psql(db_url, """
                SELECT o.id, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id),
                       (SELECT min(seq) FROM order_events e WHERE e.order_id = o.id),
                       (SELECT status FROM order_events e WHERE e.order_id = o.id
                         ORDER BY seq LIMIT 1)
                  FROM orders o WHERE o.type = 'order'"""):
            if row[1] == "0" or row[2] != "1" or row[3] != "pending":
                problems.append(f"order {row[0]} items={row[1]} first event seq={row[2]} "
                                f"status={row[3]}")
        for pid, stock, sold, in_orders in psql(db_url, """
                SELECT p.id, p.stock, p.sales_count,
                       coalesce((SELECT sum(i.quantity) FROM order_items i JOIN orders o
                                  ON o.id = i.order_id
                                 WHERE i.product_id = p.id AND o.status <> 'cancelled'), 0)
                  FROM products p"""):
            pid = int(pid)
            if pid not in self.initial_stock:
                continue
            if abs(float(stock) + float(sold) - self.initial_stock[pid]) > 1e-6:
                problems.append(f"product {pid}: stock {stock} + sold {sold} != initial "
                                f"{self.initial_stock[pid]}")
            if abs(float(sold) - float(in_orders)) > 1e-6:
                problems.append(f"product {pid}: sales_count {sold} but live order lines "
                                f"{in_orders}")
        for crew, coins, n, delivered, order_coins in psql(db_url, """
                SELECT c.user_id, c.coins, c.number_of_deliveries,
                       (SELECT count(*) FROM orders o
                         WHERE o.crew_id = c.user_id AND o.status = 'delivered'),
                       (SELECT coalesce(sum(o.coins), 0) FROM orders o
                         WHERE o.crew_id = c.user_id AND o.status = 'delivered')
                  FROM delivery_crews c"""):
            if int(coins) != coins_per_order * int(delivered) or int(n) != int(delivered) or \
                    int(order_coins) != int(coins):
                problems.append(f"crew {crew}: coins {coins}, deliveries {n}, delivered orders "
                                f"{delivered} (rule {coins_per_order}/order)")
        delivered_total = scalar_int(db_url, "SELECT count(*) FROM orders WHERE status='delivered'")
        figures = {
            "requests": len(recs), "acknowledged": acked, "lost": lost,
            "duplicated": duplicated, "orders": len(orders), "delivered": delivered_total,
            "placed_acked": len(placed), "no_response": by_status.get(None, 0),
            "status_503": by_status.get(503, 0), "status_504": by_status.get(504, 0),
            "server_errors": len(bad),
        }
        return figures, problems


def scalar_int(url, sql):
    return int(psql(url, sql)[0][0])


def describe_statuses(recs):
    out = {}
    for r in recs:
        k = f"{r[0]}:{r[4]}{'/' + r[5] if r[5] else ''}"
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


def wait_for(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


__all__ = ["Ledger", "Load", "log", "describe_statuses", "wait_for"]
