#!/usr/bin/env python3
"""Cluster mode with routing over NATS (CLUSTER.md "Routing"): three real nodes, one
nats-server and one PostgreSQL, all started by this test on loopback. Any node serves any
request; what another node owns is forwarded to it. Checked against what PostgreSQL holds:

1. Every node answers every shop as PostgreSQL has it; a rename sent to a node that does not own
   the shop is made by its owner; an entity's refusal (403) comes back unchanged; an operator's
   GET /admin/actors/shop/{id} on any node shows the owner's live actor.
2. A placement of three shops owned by three nodes, sent to each node: 201, stock exact in
   PostgreSQL and in each owner's memory, nothing left held (the commits are tells forwarded
   over NATS).
3. Oversell: one product of stock 6, 18 concurrent placements of 1 spread over the three nodes:
   exactly 6 succeed, the rest 409 out_of_stock, PostgreSQL stock 0.
4. One Idempotency-Key sent to the three nodes at once: one order; each node answers it after.
5. Events cross nodes: every crew, asked through another node each, finds an order placed
   through b in its pending list; three crews through three nodes accept it at once: exactly
   one wins; the customer's stream on a node that does not own the order, and the staff stream
   on every node, see the assignment.
5b. Dispatch across nodes (CLUSTER.md "Dispatch"): an order placed through one node is offered
   to the only crew near it, whose app talks to another node than the one serving it: its
   stream there gets the offer; GET /crew/offer and GET /staff/offers through every node show
   it; a new stream on a third node starts with it; a decline through yet another node ends it
   (PostgreSQL: declined). The order is announced unattended to staff exactly once (only its
   own node escalates it).
5c. Zones (CLUSTER.md "Shard key"): a shop, a customer and a crew registered with a
   home_location in one zone, and the customer's order of that shop, all get ids in the zone's
   shard; placing the order and accepting it through that shard's node forward nothing. A row
   inserted through psql without an id (as the previous release would) gets a zoned-form id.
6. kill -9 of nats-server: a node answers what it owns, and 503 not_owner (naming the owner) at
   once for the rest; nats-server restarted on its port: every node routes again by itself.
7. Under load (writers renaming shops through random nodes): SIGTERM of node b while the writers
   use a and c: no write fails, nor while b rejoins and takes shards back (the shards given up
   drain first); kill -9 of node c while they use a and b: c's shards are served again by the
   others within ttl + a round + 2 s (writes in flight on c may get 504). Every acknowledged
   write is in PostgreSQL. First round, while c's shards move: 12 buyers of 6 items of a shop c
   served, each retrying one Idempotency-Key through a and b until answered 201 or
   out_of_stock: one order per buyer at most, stock = 6 - sold >= 0, every answer as
   PostgreSQL has it; three crews accepting an order c served through a and b: exactly one
   winner, the one PostgreSQL assigned. An Idempotency-Key claimed by c is taken over at once by
   a repeat through b (201); one claimed by live a is not (409). (First round, too: an offer
   open to a crew c serves when
   c is killed is
   taken up by the crew's new node: GET /crew/offer through a shows it, and it is closed as
   expired in PostgreSQL within 3 s of its expiry.)

  cluster_routing_test.py [--rounds N]   (rounds of 7)
"""

import argparse
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (Client, LoadThreads, NatsServer, Server, SseReader,  # noqa: E402
                     World, concurrently, create_database, env_or_die, held_by, leases, log,
                     must, order_body, psql, renames_lost, report, shop_name, wait_until)

SHARDS = 12
TTL_MS = 1500
ROUND_S = TTL_MS / 3000.0
NODES = ("a", "b", "c")
OFFER_TIMEOUT_S = 12
# Zones of 0.001° (about 110 m): shops a few hundred metres apart land in different zones, so
# the shops of the test spread over every shard while staying near the crews.
ZONE_DEG = 0.001
ALERT_S = 2
# Far from Cairo (where every other shop and crew is), and from each other: a crew there is the
# only one near an order of a shop there.
ALEXANDRIA = (31.20, 29.92)
ASWAN = (24.09, 32.90)


def node_env(name, nats_url):
    return {"WASSALLY_CLUSTER_NODE_ID": name, "WASSALLY_CLUSTER_SHARDS": str(SHARDS),
            "WASSALLY_CLUSTER_LEASE_TTL_MS": str(TTL_MS),
            "WASSALLY_CLUSTER_NATS_URL": nats_url,
            "WASSALLY_REQUEST_TIMEOUT_MS": "4000", "WASSALLY_RECONCILE_INTERVAL_S": "0",
            "WASSALLY_CREW_MAX_ORDERS": "100",
            "WASSALLY_OFFER_TIMEOUT_S": str(OFFER_TIMEOUT_S),
            "WASSALLY_CLUSTER_ZONE_DEG": str(ZONE_DEG),
            "WASSALLY_PENDING_ALERT_S": str(ALERT_S),
            "WASSALLY_TOKEN_SECRET": "cluster-test-secret-0123456789abcdef0123456789"}


class Writers(LoadThreads):
    """Each thread renames its shops in turn (`w<shop>-<n>`, n rising) through a node drawn at
    random from `nodes` (changed by the test between faults). Records the last n acknowledged
    per shop, and the answers of each phase."""

    def __init__(self, shops, ports, threads=3):
        self.ports = dict(ports)
        self.nodes = list(ports)
        self.phase = "start"
        self.acked = {}
        self.answers = {}  # phase -> {status: count}
        self.failures = {}  # phase -> [repr]
        self.inflight = {}  # phase -> requests sent in it and not yet answered
        self.lock = threading.Lock()
        super().__init__(self._run, [shops[i::threads] for i in range(threads)])

    def use(self, nodes, phase):
        with self.lock:
            self.nodes = list(nodes)
            self.phase = phase

    def _run(self, shops):
        clients = {}
        n = 0
        while not self.stop.is_set():
            for s in shops:
                if self.stop.is_set():
                    break
                n += 1
                with self.lock:
                    node = random.choice(self.nodes)
                    phase = self.phase
                    self.inflight[phase] = self.inflight.get(phase, 0) + 1
                port = self.ports[node]
                c = clients.get((node, port))
                if c is None:
                    c = clients[(node, port)] = Client(port, timeout=10)
                r = c.patch(f"/api/v1/shops/{s['id']}", {"name": f"w{s['id']}-{n:07d}"},
                            token=s["owner"])
                with self.lock:
                    self.inflight[phase] -= 1
                    key = str(r.status or "transport")
                    counts = self.answers.setdefault(phase, {})
                    counts[key] = counts.get(key, 0) + 1
                    if r.ok:
                        self.acked[s["id"]] = max(self.acked.get(s["id"], 0), n)
                    else:
                        self.failures.setdefault(phase, []).append(
                            f"{node} after {r.elapsed:.2f} s: {r!r}")
                if r.status is None:
                    clients.pop((node, port), None)
                    time.sleep(0.05)

    def settled(self, phase, timeout=20):
        """The failures of `phase`, once every request sent in it has been answered."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.inflight.get(phase, 0) == 0:
                    return list(self.failures.get(phase, []))
            time.sleep(0.05)
        raise AssertionError(f"requests of phase {phase} still unanswered after {timeout} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-nats-restart", action="store_true",
                    help="skip the nats-server kill and restart (to tell its effects apart)")
    args = ap.parse_args()
    admin = env_or_die("WASSALLY_TEST_DATABASE_URL")
    db = create_database(admin, "routing")
    nats = NatsServer()
    nats.start()
    servers = {n: Server(db, node_env(n, nats.url)) for n in NODES}
    problems = []
    figures = {"nodes": len(NODES), "shards": SHARDS, "ttl_ms": TTL_MS, "takeover_kill_s": [],
               "nats_recovery_s": [], "sigterm_failed_writes": 0}

    def check(ok, what):
        if not ok:
            problems.append(what)
            log("PROBLEM:", what)
            for n, srv in servers.items():  # what the nodes said, for the diagnosis
                log(f"--- node {n}, last lines:\n" + "\n".join(
                    line for line in srv.log_tail(6000).splitlines()[-15:]))
        return ok

    def balanced():
        return all(len(held_by(db, n)) == SHARDS // len(NODES) for n in NODES)

    def routing(name, token):
        r = Client(servers[name].port).get("/api/v1/admin/cluster", token=token)
        return r.body["routing"] if r.status == 200 else {}

    def client(name):
        return Client(servers[name].port, timeout=10)

    writers = None
    try:
        for s in servers.values():
            s.start()
        wait_until("the nodes split the shards", balanced, 10 * TTL_MS / 1000)
        w = World(servers["a"].port)
        wait_until("every node routes over NATS",
                   lambda: all(routing(n, w.staff).get("state") == "connected" for n in NODES),
                   10)
        shops = w.shops_in_every_shard(SHARDS, step=ZONE_DEG)
        owner_of = {}
        ls = leases(db)
        for s in shops:
            owner_of[s["id"]] = ls[s["id"] % SHARDS][0]

        # 1. Any node serves any shop, as PostgreSQL has it; writes go to the owner.
        for i, s in enumerate(shops):
            for n in NODES:
                got = client(n).get(f"/api/v1/shops/{s['id']}")
                check(got.status == 200 and got.body["name"] == shop_name(db, s["id"]),
                      f"shop {s['id']} (owner {owner_of[s['id']]}) through {n}: {got!r}")
            via = next(n for n in NODES if n != owner_of[s["id"]])
            name = f"renamed through {via} {s['id']}"
            r = client(via).patch(f"/api/v1/shops/{s['id']}", {"name": name}, token=s["owner"])
            check(r.status == 200 and r.body["name"] == name and shop_name(db, s["id"]) == name,
                  f"rename of shop {s['id']} through {via} (owner {owner_of[s['id']]}): {r!r}")
            # An entity's refusal crosses nodes unchanged: another owner may not rename it.
            other = shops[(i + 1) % len(shops)]
            mine = client(owner_of[s["id"]]).patch(f"/api/v1/shops/{s['id']}", {"name": "x"},
                                                   token=other["owner"])
            theirs = client(via).patch(f"/api/v1/shops/{s['id']}", {"name": "x"},
                                       token=other["owner"])
            check(mine.status == theirs.status == 403 and mine.code == theirs.code,
                  f"a refusal through {via} {theirs!r} differs from the owner's {mine!r}")
            seen = client(via).get(f"/api/v1/admin/actors/shop/{s['id']}", token=w.staff)
            check(seen.status == 200 and seen.body["state"]["shop"]["name"] == name,
                  f"/admin/actors/shop/{s['id']} through {via}: {seen!r}")
        views = {n: routing(n, w.staff) for n in NODES}
        figures["forwarded_after_reads"] = {n: v.get("forwarded") for n, v in views.items()}
        check(all(v.get("forwarded", 0) > 0 and v.get("served_for_others", 0) > 0
                  for v in views.values()),
              f"every node should have forwarded and served for others: {views}")

        # 2. One placement over three shops owned by three nodes, through each node.
        by_node = {n: next(s for s in shops if owner_of[s["id"]] == n) for n in NODES}
        products = {n: w.product(by_node[n], 100) for n in NODES}
        customer = w.customer()
        for n in NODES:
            r = client(n).post("/api/v1/orders",
                               order_body([(products[m], 2) for m in NODES]),
                               token=customer["token"])
            check(r.status == 201, f"a placement over three nodes' shops through {n}: {r!r}")
        for m in NODES:
            stock = float(psql(db, f"SELECT stock FROM products WHERE id = {products[m]}")[0][0])
            check(stock == 94, f"product of {m}'s shop after three placements of 2: {stock}")
        # The placements' commits reached the shops of the other nodes (commit_reservation: a
        # tell, forwarded over NATS without an answer): no stock stays held on any owner (else
        # it would until reservation_timeout_s), and each shop's memory has PostgreSQL's stock.
        for m in NODES:
            sid = by_node[m]["id"]

            def nothing_held():
                r = client(m).get(f"/api/v1/admin/actors/shop/{sid}", token=w.staff)
                return r.status == 200 and r.body["state"]["held"] == []
            try:
                wait_until(f"shop {sid} holds nothing", nothing_held, 3)
            except AssertionError as e:
                seen = client(m).get(f"/api/v1/admin/actors/shop/{sid}", token=w.staff)
                check(False, f"{e}: {seen!r}")
            got = client(m).get(f"/api/v1/products/{products[m]}")
            check(got.status == 200 and float(got.body["stock"]) == 94,
                  f"product of {m}'s shop as its owner serves it: {got!r}")

        # 3. No overselling across nodes.
        scarce = w.product(by_node["b"], 6)
        buyers = [w.customer() for _ in range(18)]
        rs = concurrently([
            (lambda i=i: client(NODES[i % 3]).post("/api/v1/orders", order_body([(scarce, 1)]),
                                                   token=buyers[i]["token"]))
            for i in range(len(buyers))])
        won = sum(1 for r in rs if r.status == 201)
        refused = sum(1 for r in rs if r.status == 409 and r.code == "out_of_stock")
        stock = float(psql(db, f"SELECT stock FROM products WHERE id = {scarce}")[0][0])
        sold = int(psql(db, f"SELECT coalesce(sum(quantity), 0) FROM order_items"
                            f" WHERE product_id = {scarce}")[0][0].split(".")[0])
        figures["oversell_answers"] = sorted(str(r.code or r.status) for r in rs)
        check(won == 6 and refused == 12 and stock == 0 and sold == 6,
              f"18 buyers of 6 over three nodes: {won} placed, {refused} out_of_stock, stock "
              f"{stock}, {sold} sold; answers {[r.code or r.status for r in rs]}")

        # 4. One Idempotency-Key at three nodes at once: one order.
        keyed = w.customer()
        key = {"Idempotency-Key": "routing-key-1"}
        rs = concurrently([
            (lambda n=n: client(n).post("/api/v1/orders", order_body([(products["a"], 1)]),
                                        token=keyed["token"], headers=key)) for n in NODES])
        retried = []
        for n in NODES:
            for _ in range(50):
                r = client(n).post("/api/v1/orders", order_body([(products["a"], 1)]),
                                   token=keyed["token"], headers=key)
                if r.status != 409 or r.code != "request_in_progress":
                    break
                time.sleep(0.1)
            retried.append(r)
        ids = {r.body["id"] for r in rs + retried if r.status == 201}
        orders = int(psql(db, f"SELECT count(*) FROM orders WHERE user_id = {keyed['id']}")[0][0])
        check(orders == 1 and len(ids) == 1 and all(r.status == 201 for r in retried),
              f"one key at three nodes: {orders} orders, answers "
              f"{[r.code or r.status for r in rs]}, retries {[r.code or r.status for r in retried]}")

        # 5. Events cross nodes; three crews through three nodes accept one order: one wins.
        crews = [w.crew() for _ in NODES]
        staff_streams = {n: SseReader(servers[n].port, "/api/v1/staff/events", w.staff)
                         for n in NODES}
        order = must(client("b").post("/api/v1/orders", order_body([(products["c"], 1)]),
                                      token=customer["token"]), 201)
        order_owner = leases(db)[order["id"] % SHARDS][0]
        watcher = next(n for n in NODES if n != order_owner)
        stream = SseReader(servers[watcher].port, f"/api/v1/orders/{order['id']}/events",
                           customer["token"])
        check(stream.status == 200, f"order stream on {watcher}: {stream.status}")
        check(stream.wait_for(lambda e: e.get("event") == "status" and
                              e["data"].get("status") == "pending", 5) is not None,
              f"the order stream on {watcher} (owner {order_owner}) did not start with pending: "
              f"{stream.events}")
        # Every crew, each asked through another node, finds the order placed through b in its
        # pending list (the dispatchers of other nodes hear of it over NATS, anti-entropy is off).
        for i, n in enumerate(NODES):
            crew_client = Client(servers[n].port, token=crews[i]["token"])
            seen_at = None
            started = time.time()
            while time.time() - started < 5:
                r = crew_client.get("/api/v1/crew/orders/pending?radius_km=15&page_size=100")
                if r.status == 200 and any(o["id"] == order["id"] for o in r.body["results"]):
                    seen_at = time.time() - started
                    break
                time.sleep(0.1)
            figures.setdefault("pending_seen_s", []).append(
                None if seen_at is None else round(seen_at, 2))
            check(seen_at is not None,
                  f"crew {crews[i]['id']} through {n} does not see the order placed through b")
        rs = concurrently([
            (lambda i=i: Client(servers[NODES[i]].port, token=crews[i]["token"]).post(
                f"/api/v1/orders/{order['id']}/accept")) for i in range(3)])
        winners = [i for i, r in enumerate(rs) if r.status == 200]
        crew_id, status = psql(db, f"SELECT crew_id, status FROM orders WHERE id = {order['id']}")[0]
        check(len(winners) == 1 and status == "assigned" and
              crew_id == str(crews[winners[0]]["id"]) and
              all(r.status == 409 for i, r in enumerate(rs) if i not in winners),
              f"three crews through three nodes: answers {rs}; PostgreSQL {crew_id} {status}")
        # The customer's stream on another node than the order's owner sees the change, and
        # every node's staff stream does.
        got = stream.wait_for(lambda e: e.get("event") == "status" and
                              e["data"].get("status") == "assigned", 5)
        check(got is not None and str(got["data"].get("crew_id")) == crew_id,
              f"the order stream on {watcher} (owner {order_owner}) missed the assignment: "
              f"{stream.events}")
        for n, st in staff_streams.items():
            seen = st.wait_for(lambda e: e.get("event") == "order" and
                               e["data"].get("order_id") == order["id"] and
                               e["data"].get("status") == "assigned", 5)
            check(seen is not None, f"staff events on {n} missed order {order['id']} assigned")
        stream.close()
        for st in staff_streams.values():
            st.close()
        views = {n: routing(n, w.staff) for n in NODES}
        figures["events_in"] = {n: v.get("events_in") for n, v in views.items()}

        # 5b. A crew's offers are made, re-sent and declined by the node serving the crew,
        # whichever node its app talks to.
        far_product = w.product(w.shop(*ALEXANDRIA), 100)
        k = w.crew(*ALEXANDRIA)
        k_owner = leases(db)[k["id"] % SHARDS][0]
        y, z = [n for n in NODES if n != k_owner]
        crew_stream = SseReader(servers[y].port, "/api/v1/crew/events", k["token"])
        staff_stream = SseReader(servers[z].port, "/api/v1/staff/events", w.staff)
        offered = must(client(z).post("/api/v1/orders", order_body([(far_product, 1)]),
                                      token=customer["token"]), 201)
        got = crew_stream.wait_for(lambda e: e.get("event") == "offer" and
                                   e["data"].get("order_id") == offered["id"], 10)
        check(got is not None, f"crew {k['id']} (served by {k_owner}) streaming on {y} got no "
                               f"offer of order {offered['id']} placed through {z}: "
                               f"{crew_stream.events}")
        rows = psql(db, f"SELECT crew_id FROM order_offers WHERE order_id = {offered['id']}"
                        f" AND outcome = 'open'")
        check(rows == [[str(k["id"])]], f"open offers of order {offered['id']}: {rows}")
        for n in NODES:
            mine = Client(servers[n].port, token=k["token"]).get("/api/v1/crew/offer")
            check(mine.status == 200 and mine.body["order_id"] == offered["id"],
                  f"GET /crew/offer of crew {k['id']} (served by {k_owner}) through {n}: {mine!r}")
            all_open = client(n).get("/api/v1/staff/offers", token=w.staff)
            check(all_open.status == 200 and
                  {"order_id": offered["id"], "crew_id": k["id"]} in
                  [{"order_id": o["order_id"], "crew_id": o["crew_id"]} for o in all_open.body],
                  f"GET /staff/offers through {n} misses order {offered['id']}: {all_open!r}")
        crew_stream.close()
        again = SseReader(servers[z].port, "/api/v1/crew/events", k["token"])
        first = again.wait_for(lambda e: e.get("event") == "offer", 5)
        check(first is not None and first["data"].get("order_id") == offered["id"],
              f"a new stream of crew {k['id']} on {z} did not start with its open offer: "
              f"{again.events}")
        again.close()
        r = Client(servers[y].port, token=k["token"]).post(
            f"/api/v1/orders/{offered['id']}/decline")
        outcome = psql(db, f"SELECT outcome FROM order_offers WHERE order_id = {offered['id']}"
                           f" AND crew_id = {k['id']}")
        check(r.status == 204 and outcome == [["declined"]],
              f"decline through {y} of an offer made by {k_owner}: {r!r}, PostgreSQL {outcome}")
        alerted = lambda e: (e.get("event") == "order_unattended" and  # noqa: E731
                             e["data"].get("order_id") == offered["id"])
        staff_stream.wait_for(alerted, ALERT_S + 5)
        time.sleep(1.5)  # a second announcement, should another node make one, comes meanwhile
        alerts = [e for e in staff_stream.events if alerted(e)]
        check(len(alerts) == 1, f"order {offered['id']} announced unattended {len(alerts)} times "
                                f"on {z}'s staff stream (once expected)")
        staff_stream.close()

        # 5c. A zone's entities share its shard, so its work stays on the node serving it.
        zone = (30.1234, 31.3456)
        zshop = w.shop(*zone)
        zshard = zshop["id"] % SHARDS
        znode = leases(db)[zshard][0]
        zproduct = w.product(zshop, 10)
        zcustomer = w.customer(home=zone)
        zcrew = w.crew(*zone, home=zone)
        check(zcustomer["id"] % SHARDS == zshard and zcrew["id"] % SHARDS == zshard,
              f"zone shard {zshard}: shop {zshop['id']}, customer {zcustomer['id']}, "
              f"crew {zcrew['id']}")
        before = {n: routing(n, w.staff).get("forwarded", 0) for n in NODES}
        zorder = client(znode).post("/api/v1/orders", order_body([(zproduct, 1)]),
                                    token=zcustomer["token"])
        check(zorder.status == 201 and zorder.body["id"] % SHARDS == zshard,
              f"an order of shop {zshop['id']} (shard {zshard}): {zorder!r}")
        if zorder.status == 201:
            taken = Client(servers[znode].port, token=zcrew["token"]).post(
                f"/api/v1/orders/{zorder.body['id']}/accept")
            check(taken.status == 200, f"the zone's crew accepting through {znode}: {taken!r}")
        after = {n: routing(n, w.staff).get("forwarded", 0) for n in NODES}
        figures["zone_forwards"] = {n: after[n] - before[n] for n in NODES}
        check(after == before, f"placing and accepting within a zone through its node {znode} "
                               f"forwarded: {figures['zone_forwards']}")
        # An insert that names no id and sets nothing (the previous release during a rolling
        # upgrade, a script in psql) gets an id of the zoned form too, so none can collide.
        row = psql(db, "INSERT INTO users (username, password_hash, role, phone_number) VALUES"
                       f" ('script{random.randint(0, 10 ** 9)}', 'x', 'customer',"
                       f" '+2{random.randint(10 ** 10, 10 ** 11 - 1)}')"
                       " RETURNING id, currval('users_id_seq')")
        uid, n = int(row[0][0]), int(row[0][1])
        check(uid == n * SHARDS + n % SHARDS,
              f"a user inserted with the column's default got id {uid} (sequence at {n})")

        for rnd in range(args.rounds):
            if not args.no_nats_restart:
                # 6. nats-server killed: owned shards served, others 503 not_owner at once.
                nats.kill()
                wait_until("the nodes notice NATS is gone",
                           lambda: all(routing(n, w.staff).get("state") == "disconnected"
                                       for n in NODES), 10)
                for s in shops[:3]:
                    owner = owner_of[s["id"]]
                    other = next(n for n in NODES if n != owner)
                    started = time.time()
                    theirs = client(other).get(f"/api/v1/shops/{s['id']}")
                    took = time.time() - started
                    check(theirs.status == 503 and theirs.code == "not_owner" and
                          theirs.body["error"].get("owner_node") == owner and took < 1.0,
                          f"NATS down: shop {s['id']} through {other} took {took:.2f} s: {theirs!r}")
                    mine = client(owner).get(f"/api/v1/shops/{s['id']}")
                    check(mine.status == 200, f"NATS down: shop {s['id']} through its owner: {mine!r}")
                nats.start()
                restarted = time.time()

                def all_route():
                    return all(client(n).get(f"/api/v1/shops/{s['id']}").status == 200
                               for n in NODES for s in shops[:3])
                took = wait_until("every node routes again after nats-server's restart", all_route,
                                  15)
                figures["nats_recovery_s"].append(round(time.time() - restarted, 2))

            # 7. Faults of nodes under load.
            loaded = w.shops_in_every_shard(SHARDS, step=ZONE_DEG) if rnd == 0 else loaded
            if writers is None:
                writers = Writers(loaded, {n: servers[n].port for n in NODES})
                writers.start()
            time.sleep(1)
            writers.use(["a", "c"], f"sigterm b {rnd}")
            time.sleep(0.5)  # requests sent to b before have been answered
            code, _ = servers["b"].terminate()
            check(code == 0, f"b exited {code} on SIGTERM")
            wait_until("a and c hold every shard after b's SIGTERM",
                       lambda: len(held_by(db, "a")) + len(held_by(db, "c")) == SHARDS,
                       TTL_MS / 1000 + 2)
            time.sleep(1)
            writers.use(["a", "c"], f"b rejoins {rnd}")
            failed = writers.settled(f"sigterm b {rnd}")
            figures["sigterm_failed_writes"] += len(failed)
            check(not failed, f"writes through a and c failed during b's SIGTERM: {failed[:5]}")
            servers["b"].start()
            wait_until("b rejoins", balanced, 20 * TTL_MS / 1000)
            time.sleep(1)  # b's claims: the shards given up drain for a round, then move
            writers.use(NODES, f"all {rnd}")
            failed = writers.settled(f"b rejoins {rnd}")
            figures.setdefault("rejoin_failed_writes", []).append(len(failed))
            check(not failed, f"writes through a and c failed while b rejoined: {failed[:5]}")
            writers.use(NODES, f"all {rnd}")
            time.sleep(1)

            writers.use(["a", "b"], f"kill c {rnd}")
            stranded = None
            if rnd == 0:
                # An offer open to a crew served by c when c dies.
                for _ in range(SHARDS):
                    candidate = w.crew(*ASWAN)
                    if leases(db)[candidate["id"] % SHARDS][0] == "c":
                        stranded = candidate
                        break
                    must(Client(servers["a"].port, token=candidate["token"]).put(
                        "/api/v1/crew/status", {"status": "offline"}), 200)
                check(stranded is not None, "no crew landed in a shard of c")
                stranded_order = must(client("a").post(
                    "/api/v1/orders", order_body([(w.product(w.shop(*ASWAN), 10), 1)]),
                    token=customer["token"]), 201)["id"]
                wait_until("the offer to c's crew is open", lambda: psql(
                    db, f"SELECT count(*) FROM order_offers WHERE order_id = {stranded_order}"
                        f" AND crew_id = {stranded['id']} AND outcome = 'open'") == [["1"]], 10)
                # Invariants while c's shards move: buyers of a scarce product of a shop c serves,
                # each retrying one Idempotency-Key through a and b; crews accepting an order c
                # serves through a and b.
                ls = leases(db)
                c_shop = next(s for s in shops if ls[s["id"] % SHARDS][0] == "c")
                c_scarce = w.product(c_shop, 6)
                c_buyers = [w.customer() for _ in range(12)]
                c_order = must(client("a").post("/api/v1/orders", order_body(
                    [(w.product(c_shop, 10), 1)]), token=customer["token"]), 201)["id"]
            time.sleep(0.5)
            results, load = [], None
            if rnd == 0:
                killed = time.time() + 0.3  # the buyers start 0.3 s before the kill

                def buy(i):
                    mine = [Client(servers[n].port, token=c_buyers[i]["token"]) for n in ("a", "b")]
                    key = {"Idempotency-Key": f"kill-buyer-{i}"}
                    answers = []
                    time.sleep(random.random() * 0.6)  # some in flight on c when it dies
                    while time.time() - killed < 20:
                        r = mine[len(answers) % 2].post(
                            "/api/v1/orders", order_body([(c_scarce, 1)]), headers=key)
                        answers.append(r.code or r.status)
                        if r.status == 201 or (r.status == 409 and r.code == "out_of_stock"):
                            break
                        time.sleep(0.2)  # 503/504/request_in_progress: the same key again
                    return answers

                def accept(i):
                    mine = Client(servers[("a", "b")[i % 2]].port, token=crews[i]["token"])
                    answers = []
                    time.sleep(random.random() * 0.6)
                    while time.time() - killed < 20:
                        r = mine.post(f"/api/v1/orders/{c_order}/accept")
                        answers.append(r.code or r.status)
                        if r.status == 200 or (r.status == 409 and r.code != "request_in_progress"):
                            break
                        time.sleep(0.2)
                    return answers
                load = threading.Thread(target=lambda: results.extend(concurrently(
                    [(lambda i=i: buy(i)) for i in range(len(c_buyers))] +
                    [(lambda i=i: accept(i)) for i in range(len(crews))])))
                load.start()
                time.sleep(0.3)
            servers["c"].kill()
            killed = time.time()
            wait_until("a and b hold every shard after c's kill -9",
                       lambda: len(held_by(db, "a")) + len(held_by(db, "b")) == SHARDS,
                       TTL_MS / 1000 + ROUND_S + 2.0)
            figures["takeover_kill_s"].append(round(time.time() - killed, 2))
            if rnd == 0:
                # An Idempotency-Key claimed by a node that is gone is taken over at once (its
                # placement can no longer commit); one claimed by a live node is not.
                def incarnation(n):
                    return psql(db, "SELECT incarnation FROM cluster_node"
                                    f" WHERE node = '{n}'")[0][0]

                orphaned, held = w.customer(), w.customer()
                for who, claim in ((orphaned, f"c/{incarnation('c')}/1"),
                                   (held, f"a/{incarnation('a')}/1")):
                    psql(db, "INSERT INTO idempotency_keys (user_id, key, request_hash, status,"
                             f" body, claim) VALUES ({who['id']}, 'claimed-key', 'x', 0, '',"
                             f" '{claim}')")
                key = {"Idempotency-Key": "claimed-key"}
                free = w.product(by_node["a"], 10)
                took = client("b").post("/api/v1/orders", order_body([(free, 1)]),
                                        token=orphaned["token"], headers=key)
                kept = client("b").post("/api/v1/orders", order_body([(free, 1)]),
                                        token=held["token"], headers=key)
                rows = {int(r[0]): (r[1], r[2]) for r in psql(
                    db, "SELECT user_id, status, split_part(claim, '/', 1) FROM idempotency_keys"
                        f" WHERE key = 'claimed-key' AND user_id IN ({orphaned['id']},"
                        f" {held['id']})")}
                check(took.status == 201 and rows[orphaned["id"]][0] == "201",
                      f"a key claimed by dead node c, sent to b: {took!r}; row {rows}")
                check(kept.status == 409 and rows[held["id"]] == ("0", "a"),
                      f"a key claimed by live node a, sent to b: {kept!r}; row {rows}")
            if load is not None:
                load.join()
                bought, accepted = results[:len(c_buyers)], results[len(c_buyers):]
                figures["kill_buyers_answers"] = bought
                figures["kill_accept_answers"] = accepted
                per_buyer = {int(r[0]): int(r[1]) for r in psql(
                    db, "SELECT o.user_id, count(*) FROM orders o JOIN order_items i ON"
                        f" i.order_id = o.id WHERE i.product_id = {c_scarce} GROUP BY o.user_id")}
                stock = float(psql(db, f"SELECT stock FROM products WHERE id = {c_scarce}")[0][0])
                sold = sum(per_buyer.values())
                check(all(n == 1 for n in per_buyer.values()) and sold == 6 - stock and
                      stock >= 0 and sold <= 6,
                      f"buyers through a kill of c: orders per buyer {per_buyer}, stock {stock}")
                for i, b in enumerate(c_buyers):
                    last = bought[i][-1]
                    has = per_buyer.get(b["id"], 0)
                    check((last == 201 and has == 1) or (last == "out_of_stock" and has == 0),
                          f"buyer {b['id']} was answered {bought[i]}; PostgreSQL holds {has}")
                crew_id, status = psql(db, f"SELECT crew_id, status FROM orders"
                                           f" WHERE id = {c_order}")[0]
                # One crew assigned; nobody else was told it won; the one assigned was told so,
                # or had an attempt answered 504 (outcome unknown) that PostgreSQL took.
                told = [str(crews[i]["id"]) for i, a in enumerate(accepted) if 200 in a]
                mine = next((a for i, a in enumerate(accepted) if str(crews[i]["id"]) == crew_id),
                            [])
                check(status == "assigned" and told in ([crew_id], []) and
                      (told == [crew_id] or 504 in mine),
                      f"accepts through a kill of c: {accepted}; PostgreSQL {crew_id} {status}")
            figures.setdefault("kill_failed_writes", []).append(
                len(writers.failures.get(f"kill c {rnd}", [])))
            if stranded is not None:
                # The crew's new node took the offer up: it shows it while PostgreSQL holds it
                # open (asked before anything else, well before it expires)...
                left = float(psql(db, "SELECT extract(epoch FROM expires_at - now()) FROM"
                                      f" order_offers WHERE order_id = {stranded_order}")[0][0])
                mine = Client(servers["a"].port, token=stranded["token"]).get("/api/v1/crew/offer")
                figures["stranded_offer_left_s_when_asked"] = round(left, 2)
                if left > 1.0:
                    check(mine.status == 200 and mine.body["order_id"] == stranded_order,
                          f"after c's kill -9, GET /crew/offer of its crew through a, {left:.1f} s "
                          f"before the offer expires: {mine!r}")

                def closed():
                    return psql(db, f"SELECT outcome, round(extract(epoch FROM closed_at -"
                                    f" expires_at)::numeric, 2) FROM order_offers"
                                    f" WHERE order_id = {stranded_order} AND outcome <> 'open'")
                wait_until("the stranded offer is closed", closed, OFFER_TIMEOUT_S + 5)
                (outcome, late), = closed()
                figures["stranded_offer_closed_late_s"] = float(late)
                check(outcome == "expired" and float(late) < 3,
                      f"the offer c left open closed as {outcome}, {late} s after its expiry")
            for s in shops:
                for n in ("a", "b"):
                    got = client(n).get(f"/api/v1/shops/{s['id']}")
                    check(got.status == 200 and got.body["name"] == shop_name(db, s["id"]),
                          f"after c's kill -9, {n} serves shop {s['id']} as {got!r}")
            servers["c"].start()
            wait_until("c rejoins", balanced, 20 * TTL_MS / 1000)
            writers.use(NODES, f"all again {rnd}")
            time.sleep(1)

        writers.finish()
        figures["writes"] = writers.answers
        check(sum(c.get("200", 0) for c in writers.answers.values()) > 0,
              f"no write of the load succeeded: {writers.answers}")
        lost = renames_lost(db, loaded, writers.acked)
        figures["acknowledged_writes_lost"] = len(lost)
        check(not lost, f"acknowledged writes missing from PostgreSQL: {lost}")
    finally:
        if writers is not None:
            writers.finish()
        for n, srv in servers.items():  # forwards that waited long or found nobody, for the record
            said = [line for line in srv.log_tail(200000).splitlines() if "shard router:" in line]
            if said:
                log(f"node {n}'s shard router said ({len(said)} lines, the last 10):\n" +
                    "\n".join(said[-10:]))
        for s in servers.values():
            s.cleanup()
        nats.kill()
    return report("cluster_routing", not problems, figures, problems)


if __name__ == "__main__":
    sys.exit(run_main("cluster_routing", main))
