#!/usr/bin/env python3
"""Late commits, stalls and lost messages: after each fault, every figure the API shows must equal
what PostgreSQL holds within --bound seconds (issue 13; DESIGN.md rule 6).

The server runs on a PostgreSQL cluster of the test's own, with request_timeout_ms=1500 and the
anti-entropy check every second. Rounds:

1. No fault: orders placed, taken and delivered; the reconciler runs several rounds and repairs
   nothing (wassally_reconcile_repairs_total stays 0).
2. Stall: the server's PostgreSQL backends are stopped (SIGSTOP, processes of our own cluster)
   while a placement, an accept, a delivery and a stock edit are in flight — plus more stock edits
   than there are connections, so that some wait in the queue. Every caller gets 504 (outcome
   `unknown` when its command was sent, `not_written` when its deadline passed in the queue).
   SIGCONT after --stall seconds: the sent transactions commit late. Then, within the bound: the
   placed order is in PostgreSQL, offered to crews, live as an actor; stock equal everywhere;
   order statuses equal; the crew's held orders equal and its limit held; coins equal; and every
   `not_written` edit is absent from PostgreSQL.
3. Idempotency under a late commit: a row lock held by psql stalls a keyed placement's stock
   statement; the caller gets 504 unknown; a repeat with the key gets 409 request_in_progress;
   once the lock goes the placement commits; a repeat gets 201 with the same order; PostgreSQL
   holds exactly one order.
4. Lost messages: PostgreSQL is changed behind the server's back (stock of a product, an order
   cancelled, an assigned order put back to pending): anti-entropy repairs the shop's stock, the
   dispatcher's index and the crew's holdings within the bound, and counts the repairs.
5. Busy: 8 clients place orders without pause through 5 reconcile rounds: no repair (a sale
   whose notice is on its way to the shop is not a difference).

  late_commit_test.py [--rounds N] [--stall S] [--bound S]
"""

import argparse
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (BackendStall, Client, PrivateCluster, Server, World,  # noqa: E402
                     concurrently, create_database, log, must, order_body, psql, report, scalar,
                     server_backends)

NAME = "late_commit"
POOL = 4  # write connections; the four writes under test take one each, later ones queue


def metric(port, family, labels=""):
    """The value of one sample of /metrics (0 when absent)."""
    r = Client(port, timeout=10).get("/metrics")
    text = r.raw.decode("utf-8", "replace")
    pattern = re.escape(family) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    m = re.search(r"^" + pattern + r"$", text, re.M)
    return float(m.group(1)) if m else 0.0


def repairs(port):
    return {k: metric(port, "wassally_reconcile_repairs_total", f'kind="{k}"')
            for k in ("shop_stock", "crew_holdings", "dispatcher_index", "order_actors")}


def eventually(bound, check):
    """Polls check() (returns a list of differences) until it returns none or the bound passes;
    returns (seconds it took, the last differences)."""
    started = time.time()
    while True:
        diffs = check()
        if not diffs or time.time() - started > bound:
            return time.time() - started, diffs
        time.sleep(0.2)


def outcome(r):
    try:
        return r.body["error"].get("outcome")
    except (TypeError, KeyError, AttributeError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--stall", type=float, default=4.0)
    ap.add_argument("--bound", type=float, default=10.0)
    args = ap.parse_args()
    cluster = PrivateCluster()
    problems = []
    figures = {"stalls": 0, "late_answers": 0, "not_written": 0, "unknown": 0,
               "divergence_s_max": 0.0, "repairs_without_fault": 0, "repairs_under_load": 0,
               "placed_during_checks": 0, "repairs_after_loss": 0}
    srv = None
    try:
        db = create_database(cluster.admin_url, "late")
        srv = Server(db, {"WASSALLY_REQUEST_TIMEOUT_MS": "1500", "WASSALLY_RECONCILE_INTERVAL_S": "1",
                          "WASSALLY_DB_POOL_SIZE": str(POOL), "WASSALLY_DB_READ_POOL_SIZE": "1",
                          "WASSALLY_CREW_MAX_ORDERS": "2",
                          "WASSALLY_DB_LOCK_TIMEOUT_MS": "20000"})
        srv.start()
        w = World(srv.port)
        cl = Client(srv.port, timeout=30)

        # -- 1. no fault: traffic, then several reconcile rounds repair nothing ----------------
        shop = w.shop()
        products = [w.product(shop, 1000) for _ in range(12)]
        customer = w.customer()
        crew = w.crew()
        for _ in range(3):
            o = must(cl.post("/api/v1/orders", order_body([(products[0], 1)]),
                             token=customer["token"]), 201)
            must(cl.post(f"/api/v1/orders/{o['id']}/accept", token=crew["token"]), 200)
            must(cl.post(f"/api/v1/orders/{o['id']}/pickup", token=crew["token"]), 200)
            must(cl.post(f"/api/v1/orders/{o['id']}/deliver", {"code": o["code"]},
                         token=crew["token"]), 200)
        rounds_before = metric(srv.port, "wassally_reconcile_rounds_total")
        deadline = time.time() + 20
        while metric(srv.port, "wassally_reconcile_rounds_total") < rounds_before + 3:
            if time.time() > deadline:
                problems.append("the reconciler did not run 3 rounds in 20 s")
                break
            time.sleep(0.2)
        quiet = sum(repairs(srv.port).values())
        figures["repairs_without_fault"] = quiet
        if quiet != 0:
            problems.append(f"anti-entropy repaired {quiet} differences with no fault injected")

        for round_no in range(args.rounds):
            stall_round(srv, db, w, cl, shop, products, customer, args, figures, problems)
            if problems:
                break
        if not problems:
            keyed_round(srv, db, w, cl, shop, products, customer, args, figures, problems)
        if not problems:
            lost_message_round(srv, db, w, cl, shop, products, customer, args, figures,
                               problems)
        # ... nor while placements commit all the time: a check then nearly always meets a sale
        # whose notice is on its way to the shop, which is not a difference (each repair is a
        # reload that holds the shop's placements back). Last: its orders stay pending.
        if not problems:
            busy_round(srv, cl, products, customer, figures, problems)
        if not srv.alive():
            problems.append("the server died:\n" + srv.log_tail())
    finally:
        if srv:
            srv.cleanup()
        cluster.destroy()
    return report(NAME, not problems, figures, problems)


def busy_round(srv, cl, products, customer, figures, problems, threads=8, checks=5):
    """Placements from `threads` clients without pause while the reconciler runs `checks` rounds:
    no repair may come of it."""
    before = sum(repairs(srv.port).values())
    rounds_before = metric(srv.port, "wassally_reconcile_rounds_total")
    stop = threading.Event()
    placed, failed = [0], []

    def client(k):
        c = Client(srv.port, timeout=30)
        i = k
        while not stop.is_set():
            r = c.post("/api/v1/orders", order_body([(products[i % len(products)], 1)]),
                       token=customer["token"])
            if r.status == 201:
                placed[0] += 1
            else:
                failed.append(r.status)
            i += threads

    ts = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    deadline = time.time() + 30
    while metric(srv.port, "wassally_reconcile_rounds_total") < rounds_before + checks + 1:
        if time.time() > deadline:
            problems.append(f"the reconciler did not run {checks} rounds in 30 s under load")
            break
        time.sleep(0.2)
    stop.set()
    for t in ts:
        t.join()
    busy = sum(repairs(srv.port).values()) - before
    figures["placed_during_checks"] = placed[0]
    figures["repairs_under_load"] = busy
    log(f"busy round: {placed[0]} placements during {checks}+ reconcile rounds, {busy} repairs")
    if failed:
        problems.append(f"placements failed under load: {sorted(set(failed))}")
    if busy != 0:
        problems.append(f"anti-entropy repaired {busy} differences under load with no fault")


def stall_round(srv, db, w, cl, shop, products, customer, args, figures, problems):
    # Orders to take and to deliver while the database stalls; a second crew holds one order
    # already, so the late accept brings it to its limit of 2.
    crew = w.crew()
    to_accept = must(cl.post("/api/v1/orders", order_body([(products[1], 1)]),
                             token=customer["token"]), 201)
    to_deliver = must(cl.post("/api/v1/orders", order_body([(products[2], 1)]),
                              token=customer["token"]), 201)
    must(cl.post(f"/api/v1/orders/{to_deliver['id']}/accept", token=crew["token"]), 200)
    must(cl.post(f"/api/v1/orders/{to_deliver['id']}/pickup", token=crew["token"]), 200)
    spare = must(cl.post("/api/v1/orders", order_body([(products[3], 1)]),
                         token=customer["token"]), 201)
    orders_before = int(scalar(db, f"SELECT count(*) FROM orders WHERE user_id = {customer['id']}"))
    # More writes than connections, from different actors (one shop each: an actor writes one
    # change at a time): some wait in the persistence queue past their deadline.
    edit_shops = [w.shop() for _ in range(6)]
    edits = [w.product(s, 1000) for s in edit_shops]
    # Every actor involved is live and warm, so the stalled writes are the only database work;
    # every connection is open (a worker connects on first use: one opened during the stall
    # would serve the writes at once).
    for p in [products[0]] + edits:
        must(cl.get(f"/api/v1/products/{p}"), 200)
    for attempt in range(30):
        if len(server_backends(db)) >= POOL + 1:
            break
        concurrently([lambda p=p, s=s: Client(srv.port, timeout=30, token=s["owner"]).patch(
            f"/api/v1/products/{p}", {"stock": 1000}) for p, s in zip(edits, edit_shops)] +
            [lambda: Client(srv.port, timeout=30, token=customer["token"]).get("/api/v1/orders")])
    else:
        problems.append(f"the server opened {len(server_backends(db))} connections, expected "
                        f"{POOL + 1}")
        return

    # Every backend of the server stalls, those it opens during the stall too (a connection
    # opened meanwhile would otherwise serve the writes at once).
    stall = BackendStall(db).start()
    log(f"stalling the server's backends for {args.stall} s")
    figures["stalls"] += 1
    try:
        def client(tok):
            return Client(srv.port, timeout=30, token=tok)
        # The placement, the accept, the delivery and the first stock edit take a connection
        # each and are sent; the later edits find every connection busy and wait in the queue.
        first = [
            lambda: client(customer["token"]).post("/api/v1/orders",
                                                   order_body([(products[0], 2)])),
            lambda: client(crew["token"]).post(f"/api/v1/orders/{to_accept['id']}/accept"),
            lambda: client(crew["token"]).post(f"/api/v1/orders/{to_deliver['id']}/deliver",
                                               {"code": to_deliver["code"]}),
            lambda: client(edit_shops[0]["owner"]).patch(f"/api/v1/products/{edits[0]}",
                                                         {"stock": 777}),
        ]
        later = [
            (lambda p=p, s=s: client(s["owner"]).patch(f"/api/v1/products/{p}", {"stock": 777}))
            for p, s in zip(edits[1:], edit_shops[1:])
        ]
        started = time.time()
        results = {}

        def fire():
            out = {}
            t1 = threading.Thread(target=lambda: out.setdefault("first", concurrently(first)))
            t1.start()
            time.sleep(0.3)
            out["later"] = concurrently(later)
            t1.join()
            results["answers"] = out["first"] + out["later"]
        t = threading.Thread(target=fire)
        t.start()
        time.sleep(max(0.0, args.stall - (time.time() - started)))
    finally:
        stall.resume()
    log(f"{len(stall.stopped)} backends were stalled")
    t.join()
    answers = results["answers"]
    placement, accept, deliver = answers[0], answers[1], answers[2]
    for name, r in zip(["placement", "accept", "deliver"] + [f"edit {p}" for p in edits], answers):
        if r.status is None:
            problems.append(f"{name}: no answer ({r.error})")
        elif r.status == 504:
            o = outcome(r)
            if o not in ("unknown", "not_written"):
                problems.append(f"{name}: 504 without an outcome: {r!r}")
            figures["unknown" if o == "unknown" else "not_written"] += 1
        else:
            figures["late_answers"] += 1
    def refused(r):
        return r.status == 504 and outcome(r) == "not_written"
    not_written = [p for p, r in zip(edits, answers[3:]) if refused(r)]
    if not any(refused(r) for r in answers):
        problems.append("no write was answered not_written (every connection was stalled: some "
                        "writes had to wait in the queue past their deadline)")

    def differences():
        d = []
        # The placement: in PostgreSQL, offered to crews, live.
        new_ids = [int(r[0]) for r in psql(
            db, f"SELECT id FROM orders WHERE user_id = {customer['id']} ORDER BY id")]
        committed = len(new_ids) - orders_before
        if placement.status == 201 and committed != 1:
            d.append(f"placement answered 201 but {committed} orders were committed")
        if placement.status == 504 and outcome(placement) == "not_written" and committed != 0:
            d.append("placement answered not_written but an order was committed")
        if committed == 1:
            oid = new_ids[-1]
            r = cl.get(f"/api/v1/admin/actors/order/{oid}", token=w.staff)
            if r.status != 200:
                d.append(f"order {oid}: /admin/actors answered {r.status}")
            status = scalar(db, f"SELECT status FROM orders WHERE id = {oid}")
            if status == "pending":
                page = cl.get("/api/v1/crew/orders/pending?page_size=100&radius_km=50",
                              token=crew_b["token"])
                ids = [x["id"] for x in (page.body or {}).get("results", [])]
                if oid not in ids:
                    d.append(f"pending order {oid} is not offered to crews")
        # Stock: the API equals PostgreSQL for every product touched.
        for p in [products[0]] + edits:
            api = cl.get(f"/api/v1/products/{p}").body
            pg = scalar(db, f"SELECT stock FROM products WHERE id = {p}")
            if api is None or float(api["stock"]) != float(pg):
                d.append(f"product {p}: API stock {api and api['stock']} vs PostgreSQL {pg}")
        # Statuses and the crew.
        for o in (to_accept, to_deliver, spare):
            api = cl.get(f"/api/v1/orders/{o['id']}", token=w.staff).body
            pg = scalar(db, f"SELECT status FROM orders WHERE id = {o['id']}")
            if api is None or api["status"] != pg:
                d.append(f"order {o['id']}: API {api and api['status']} vs PostgreSQL {pg}")
        held_pg = sorted(int(r[0]) for r in psql(
            db, f"SELECT id FROM orders WHERE crew_id = {crew['id']}"
                " AND status IN ('assigned', 'picked_up')"))
        crew_state = cl.get(f"/api/v1/admin/actors/crew/{crew['id']}", token=w.staff).body
        held_api = sorted((crew_state or {}).get("state", crew_state or {}).get(
            "current_order_ids", []) if crew_state else [])
        if held_api != held_pg:
            d.append(f"crew holds {held_api} in memory, {held_pg} in PostgreSQL")
        me = cl.get("/api/v1/me", token=crew["token"]).body or {}
        coins = scalar(db, f"SELECT coins FROM delivery_crews WHERE user_id = {crew['id']}")
        if int(me.get("coins", -1)) != int(coins):
            d.append(f"crew coins: API {me.get('coins')} vs PostgreSQL {coins}")
        for p in not_written:
            pg = float(scalar(db, f"SELECT stock FROM products WHERE id = {p}"))
            if pg == 777:
                d.append(f"product {p}: an edit answered not_written was applied")
        if refused(accept) and scalar(db, f"SELECT status FROM orders WHERE id = "
                                          f"{to_accept['id']}") != "pending":
            d.append("an accept answered not_written was applied")
        if refused(deliver) and scalar(db, f"SELECT status FROM orders WHERE id = "
                                           f"{to_deliver['id']}") != "picked_up":
            d.append("a delivery answered not_written was applied")
        return d

    crew_b = w.crew()
    took, diffs = eventually(args.bound, differences)
    figures["divergence_s_max"] = max(figures["divergence_s_max"], round(took, 2))
    for x in diffs:
        problems.append("after the stall: " + x)
    # The crew's limit holds: it has at most 2, whatever it tries now.
    extra = must(cl.post("/api/v1/orders", order_body([(products[3], 1)]),
                         token=customer["token"]), 201)
    for o in (spare, extra):
        cl.post(f"/api/v1/orders/{o['id']}/accept", token=crew["token"])
    held = int(scalar(db, f"SELECT count(*) FROM orders WHERE crew_id = {crew['id']}"
                          " AND status IN ('assigned', 'picked_up')"))
    if held > 2:
        problems.append(f"the crew holds {held} orders, above its limit of 2")
    log(f"stall round: answers {[(r.status, round(r.elapsed, 2)) for r in answers]}, converged in {took:.2f} s")


def keyed_round(srv, db, w, cl, shop, products, customer, args, figures, problems):
    """A keyed placement whose stock statement waits on a row lock past the deadline."""
    import subprocess
    key = "late-" + w.unique()
    body = order_body([(products[1], 1)])
    before = int(scalar(db, f"SELECT count(*) FROM orders WHERE user_id = {customer['id']}"))
    # psql holds the product's row in an open transaction until it is told to roll back.
    holder = subprocess.Popen(
        ["psql", "-X", "-q", "-d", db], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write(f"BEGIN; SELECT 1 FROM products WHERE id = {products[1]} FOR UPDATE;\n")
    holder.stdin.flush()
    try:
        deadline = time.time() + 10
        while int(scalar(db, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid ="
                             " l.relation WHERE c.relname = 'products' AND l.mode ="
                             " 'RowShareLock' AND l.granted")) == 0:
            if time.time() > deadline:
                problems.append("psql did not take the row lock")
                return
            time.sleep(0.05)
        cust = Client(srv.port, timeout=30, token=customer["token"])
        first = cust.post("/api/v1/orders", body, headers={"Idempotency-Key": key})
        if first.status != 504 or outcome(first) != "unknown":
            problems.append(f"keyed placement under a held lock: expected 504 unknown, got "
                            f"{first!r}")
        again = cust.post("/api/v1/orders", body, headers={"Idempotency-Key": key})
        if again.status != 409 or again.code != "request_in_progress":
            problems.append(f"repeat while in flight: expected 409 request_in_progress, got "
                            f"{again!r}")
    finally:
        # The transaction ends (and its lock goes) when psql rolls it back and leaves.
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait()

    def differences():
        r = Client(srv.port, timeout=30, token=customer["token"]).post(
            "/api/v1/orders", body, headers={"Idempotency-Key": key})
        if r.status != 201:
            return [f"repeat after the commit: {r!r}"]
        n = int(scalar(db, f"SELECT count(*) FROM orders WHERE user_id = {customer['id']}"))
        if n != before + 1:
            return [f"{n - before} orders committed for one key"]
        return []
    took, diffs = eventually(args.bound, differences)
    figures["divergence_s_max"] = max(figures["divergence_s_max"], round(took, 2))
    for x in diffs:
        problems.append("keyed placement: " + x)


def lost_message_round(srv, db, w, cl, shop, products, customer, args, figures, problems):
    """PostgreSQL changed behind the server's back: anti-entropy finds and repairs it."""
    crew = w.crew()
    gone = must(cl.post("/api/v1/orders", order_body([(products[5], 1)]),
                        token=customer["token"]), 201)
    held = must(cl.post("/api/v1/orders", order_body([(products[6], 1)]),
                        token=customer["token"]), 201)
    must(cl.post(f"/api/v1/orders/{held['id']}/accept", token=crew["token"]), 200)
    before = sum(repairs(srv.port).values())
    psql(db, f"UPDATE products SET stock = stock + 5 WHERE id = {products[7]};"
             f" UPDATE orders SET status = 'cancelled' WHERE id = {gone['id']};"
             f" UPDATE orders SET status = 'pending', crew_id = NULL WHERE id = {held['id']}")
    looker = w.crew()

    def differences():
        d = []
        api = cl.get(f"/api/v1/products/{products[7]}").body
        pg = scalar(db, f"SELECT stock FROM products WHERE id = {products[7]}")
        if float(api["stock"]) != float(pg):
            d.append(f"stock {api['stock']} vs {pg}")
        page = cl.get("/api/v1/crew/orders/pending?page_size=100&radius_km=50",
                      token=looker["token"]).body
        ids = [x["id"] for x in page.get("results", [])]
        if gone["id"] in ids:
            d.append("a cancelled order is still offered")
        if held["id"] not in ids:
            d.append("an order back to pending is not offered")
        st = cl.get(f"/api/v1/admin/actors/crew/{crew['id']}", token=w.staff).body or {}
        state = st.get("state", st)
        if held["id"] in state.get("current_order_ids", []):
            d.append("the crew still holds an order PostgreSQL gave back")
        return d
    took, diffs = eventually(args.bound, differences)
    figures["divergence_s_max"] = max(figures["divergence_s_max"], round(took, 2))
    for x in diffs:
        problems.append("lost messages: " + x)
    figures["repairs_after_loss"] = sum(repairs(srv.port).values()) - before
    if figures["repairs_after_loss"] < 3:
        problems.append(f"anti-entropy counted {figures['repairs_after_loss']} repairs, expected "
                        ">= 3 (stock, dispatcher index, crew holdings)")


if __name__ == "__main__":
    sys.exit(run_main(NAME, main))
