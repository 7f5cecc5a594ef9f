#!/usr/bin/env python3
"""Races, each with its exact expected outcome, repeated --rounds times:

- oversell: many customers order the last units of one product at once -> exactly `stock`
  201s, the rest 409 out_of_stock (with the product_id); stock ends at 0, never below.
- accept race: many crews accept one order -> exactly one 200, the rest 409 already_assigned;
  the database names the winner.
- double cancel vs accept: the customer cancels twice while a crew accepts -> exactly one of
  the three succeeds, the others are 409 invalid_transition; the final state is the winner's.
- idempotency: the same Idempotency-Key and body sent concurrently -> 201 or 409
  request_in_progress (while the first is in flight), every 201 identical
  bodies, one order in the database, stock taken once.
- one cart, two devices: concurrent adds of one product add up (exactly one 201, the rest 200);
  a 3rd and a 4th shop added at once -> exactly one fits (the other 409 cart_shop_limit);
  concurrent PATCHes leave one of the two quantities; DELETE vs PATCH of a line leaves no line;
  the database always equals GET /cart.

  races_test.py [--rounds N]
"""

import argparse
import os
import random
import sys
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (Client, Server, World, concurrently, create_database,  # noqa: E402
                     env_or_die, log, order_body, psql, report)

BIG = 1000000


class Races:
    def __init__(self, srv, db, problems):
        self.srv, self.db, self.problems = srv, db, problems
        w = World(srv.port)
        self.w = w
        self.shops = [w.shop() for _ in range(5)]
        self.big = [w.product(s, BIG) for s in self.shops]  # one plentiful product per shop
        self.customers = [w.customer() for _ in range(12)]
        self.crews = [w.crew() for _ in range(8)]
        # Warm keep-alive connections, one per participant.
        self.cust_clients = [Client(srv.port, timeout=30, token=c["token"])
                             for c in self.customers]
        self.crew_clients = [Client(srv.port, timeout=30, token=c["token"]) for c in self.crews]
        self.staff = Client(srv.port, timeout=30, token=w.staff)
        self.passed = {}

    def fail(self, scenario, msg):
        self.problems.append(f"{scenario}: {msg}")

    def ok(self, scenario):
        self.passed[scenario] = self.passed.get(scenario, 0) + 1

    def place(self, i, items, key=None):
        h = {"Idempotency-Key": key} if key else None
        return self.cust_clients[i].post("/api/v1/orders", order_body(items), headers=h)

    def db_product(self, pid):
        stock, sold = psql(self.db, f"SELECT stock, sales_count FROM products WHERE id = {pid}")[0]
        return float(stock), float(sold)

    def oversell(self):
        stock = random.randint(1, 6)
        shop = random.choice(self.shops)
        pid = self.w.product(shop, stock)
        rs = concurrently([lambda i=i: self.place(i, [(pid, 1)])
                           for i in range(len(self.customers))])
        won = [r for r in rs if r.status == 201]
        lost = [r for r in rs if r.status == 409 and r.code == "out_of_stock" and
                r.body["error"].get("product_id") == pid]
        bad = len(won) != stock or len(won) + len(lost) != len(rs)
        db_stock, db_sold = self.db_product(pid)
        n_orders = int(psql(self.db, f"SELECT count(DISTINCT order_id) FROM order_items"
                                     f" WHERE product_id = {pid}")[0][0])
        if bad or db_stock != 0 or db_sold != stock or n_orders != stock:
            self.fail("oversell", f"stock {stock}: {len(won)} placed, {len(lost)} out_of_stock, "
                                  f"others {[r for r in rs if r not in won and r not in lost]}; "
                                  f"db stock {db_stock} sold {db_sold} orders {n_orders}")
        else:
            self.ok("oversell")

    def new_order(self, cust=0, qty=1):
        r = self.place(cust, [(random.choice(self.big), qty)])
        if r.status != 201:
            raise AssertionError(f"placement failed: {r!r}")
        return r.body

    def accept_race(self):
        o = self.new_order()
        rs = concurrently([lambda c=c: c.post(f"/api/v1/orders/{o['id']}/accept")
                           for c in self.crew_clients])
        winners = [i for i, r in enumerate(rs) if r.status == 200]
        losers = [r for r in rs if r.status == 409 and r.code == "already_assigned"]
        crew, status, assigned = psql(self.db, f"""
            SELECT crew_id, status, (SELECT count(*) FROM order_events
                                      WHERE order_id = {o['id']} AND status = 'assigned')
              FROM orders WHERE id = {o['id']}""")[0]
        if len(winners) != 1 or len(losers) != len(rs) - 1 or status != "assigned" or \
                int(crew) != self.crews[winners[0]]["id"] or assigned != "1":
            self.fail("accept_race", f"winners {winners}, answers {rs}, db crew {crew} status "
                                     f"{status} assigned events {assigned}")
        else:
            self.ok("accept_race")
        # Free the crew again.
        self.staff.post(f"/api/v1/orders/{o['id']}/cancel")

    def cancel_vs_accept(self):
        o = self.new_order(cust=1, qty=2)
        pid = o["items"][0]["product_id"]
        before = self.db_product(pid)
        cust = self.customers[1]
        second = Client(self.srv.port, timeout=30, token=cust["token"])  # the other device
        crew = random.randrange(len(self.crew_clients))
        rs = concurrently([
            lambda: self.cust_clients[1].post(f"/api/v1/orders/{o['id']}/cancel"),
            lambda: second.post(f"/api/v1/orders/{o['id']}/cancel"),
            lambda: self.crew_clients[crew].post(f"/api/v1/orders/{o['id']}/accept")])
        second.close()
        oks = [i for i, r in enumerate(rs) if r.status == 200]
        others_ok = all(r.status == 409 and r.code == "invalid_transition"
                        for i, r in enumerate(rs) if i not in oks)
        status, crew_id = psql(self.db, f"SELECT status, crew_id FROM orders WHERE id={o['id']}")[0]
        after = self.db_product(pid)
        good = len(oks) == 1 and others_ok
        if good and oks[0] == 2:
            good = status == "assigned" and int(crew_id) == self.crews[crew]["id"] and \
                after == before
        elif good:
            good = status == "cancelled" and after == (before[0] + 2, before[1] - 2)
        if not good:
            self.fail("cancel_vs_accept", f"answers {rs}; db status {status} crew {crew_id}; "
                                          f"stock/sold {before} -> {after}")
        else:
            self.ok("cancel_vs_accept")
        if status == "assigned":
            self.staff.post(f"/api/v1/orders/{o['id']}/cancel")

    def idempotency(self):
        cust = random.randrange(len(self.customers))
        key = uuid.uuid4().hex
        pid = random.choice(self.big)
        before = self.db_product(pid)
        n0 = int(psql(self.db, f"SELECT count(*) FROM orders WHERE user_id = "
                               f"{self.customers[cust]['id']}")[0][0])
        clients = [Client(self.srv.port, timeout=30, token=self.customers[cust]["token"])
                   for _ in range(6)]
        body = order_body([(pid, 3)])
        rs = concurrently([lambda c=c: c.post("/api/v1/orders", body,
                                              headers={"Idempotency-Key": key})
                           for c in clients])
        for c in clients:
            c.close()
        n1 = int(psql(self.db, f"SELECT count(*) FROM orders WHERE user_id = "
                               f"{self.customers[cust]['id']}")[0][0])
        after = self.db_product(pid)
        # While the first is in flight, a repeat is told so (409 request_in_progress); every
        # 201 is the same answer, and a repeat afterwards gets it too.
        rs.append(Client(self.srv.port, timeout=30, token=self.customers[cust]["token"]).post(
            "/api/v1/orders", body, headers={"Idempotency-Key": key}))
        bodies = {r.raw for r in rs if r.status == 201}
        if any(r.status != 201 and not (r.status == 409 and r.code == "request_in_progress")
               for r in rs) or rs[-1].status != 201 or len(bodies) != 1 or n1 != n0 + 1 or \
                after != (before[0] - 3, before[1] + 3):
            self.fail("idempotency", f"answers {[(r.status, r.raw[:80]) for r in rs]}; "
                                     f"{len(bodies)} distinct bodies; orders {n0} -> {n1}; "
                                     f"stock/sold {before} -> {after}")
        else:
            self.ok("idempotency")

    def cart_two_devices(self):
        cust = self.customers[random.randrange(len(self.customers))]
        a = Client(self.srv.port, timeout=30, token=cust["token"])
        b = Client(self.srv.port, timeout=30, token=cust["token"])
        a.delete("/api/v1/cart")
        p = self.big
        problems = []

        def add(c, pid, q=1):
            return c.post("/api/v1/cart/items", {"product_id": pid, "quantity": q})

        # Concurrent adds of one product add up; exactly one created the line.
        k = 4
        rs = concurrently([lambda c=c: [add(c, p[0]) for _ in range(k)] for c in (a, b)])
        flat = rs[0] + rs[1]
        if sum(1 for r in flat if r.status == 201) != 1 or \
                sum(1 for r in flat if r.status == 200) != 2 * k - 1:
            problems.append(f"adds: {[r.status for r in flat]}")
        # Shops: the cart holds p0's shop; add a 2nd, then a 3rd and 4th at once -> one fits.
        add(a, p[1])
        r3, r4 = concurrently([lambda: add(a, p[2]), lambda: add(b, p[3])])
        fits = [r for r in (r3, r4) if r.status == 201]
        limit = [r for r in (r3, r4) if r.status == 409 and r.code == "cart_shop_limit"]
        if len(fits) != 1 or len(limit) != 1:
            problems.append(f"3rd/4th shop: {r3!r} {r4!r}")
        cart = a.get("/api/v1/cart").body
        line = {i["product_id"]: i for i in cart["items"]}
        if line.get(p[0], {}).get("quantity") != 2 * k:
            problems.append(f"quantity of the shared product: {line.get(p[0])}")
        # Concurrent PATCHes: one of the two wins whole.
        lid = line[p[0]]["id"]
        concurrently([lambda: a.patch(f"/api/v1/cart/items/{lid}", {"quantity": 3}),
                      lambda: b.patch(f"/api/v1/cart/items/{lid}", {"quantity": 5})])
        q = {i["product_id"]: i["quantity"] for i in a.get("/api/v1/cart").body["items"]}
        if q.get(p[0]) not in (3, 5):
            problems.append(f"after two PATCHes: {q}")
        # DELETE vs PATCH of one line: the line is gone either way.
        lid1 = {i["product_id"]: i["id"] for i in a.get("/api/v1/cart").body["items"]}[p[1]]
        rd, rp = concurrently([lambda: a.delete(f"/api/v1/cart/items/{lid1}"),
                               lambda: b.patch(f"/api/v1/cart/items/{lid1}", {"quantity": 2})])
        if rd.status != 204 or rp.status not in (200, 404):
            problems.append(f"DELETE vs PATCH: {rd!r} {rp!r}")
        final = a.get("/api/v1/cart").body
        api = sorted((i["product_id"], float(i["quantity"])) for i in final["items"])
        db = sorted((int(r[0]), float(r[1])) for r in psql(
            self.db, f"SELECT product_id, quantity FROM cart_items WHERE user_id = {cust['id']}"))
        if p[1] in dict(api):
            problems.append(f"deleted line still there: {api}")
        if api != db:
            problems.append(f"GET /cart {api} but database {db}")
        if len({i["shop_id"] for i in final["items"]}) > 3:
            problems.append(f"more than 3 shops: {final}")
        a.delete("/api/v1/cart")
        a.close()
        b.close()
        if problems:
            self.fail("cart_two_devices", "; ".join(problems))
        else:
            self.ok("cart_two_devices")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "races")
    srv = Server(db, {"WASSALLY_CREW_MAX_ORDERS": "100"})
    srv.start()
    problems = []
    try:
        races = Races(srv, db, problems)
        scenarios = [races.oversell, races.accept_race, races.cancel_vs_accept,
                     races.idempotency, races.cart_two_devices]
        for rnd in range(args.rounds):
            for s in scenarios:
                try:
                    s()
                except Exception as e:  # a failed precondition is a failure, not a skip
                    problems.append(f"{s.__name__}: {type(e).__name__}: {e}")
            if (rnd + 1) % 10 == 0:
                log(f"round {rnd + 1}: {races.passed}")
        if not srv.alive():
            problems.append("the server died")
        figures = {"rounds": args.rounds, "violations": len(problems)}
        figures.update({f"passed_{k}": v for k, v in races.passed.items()})
        ok = not problems and all(races.passed.get(s.__name__, 0) == args.rounds
                                  for s in scenarios)
        if not ok:
            log("server log tail:\n" + srv.log_tail())
        return report("races", ok, figures, problems)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(run_main("races", main))
