#!/usr/bin/env python3
"""Cluster mode, shard leases and write fencing (CLUSTER.md): two real nodes share one
PostgreSQL; node a reaches it through a loopback TCP proxy this test starts. Checked against what
PostgreSQL holds:

1. The nodes split the shards (each its fair share, none held twice); each serves the shops of
   its own shards and answers the others' `503 not_owner` naming the owner; a placement goes
   through the shop's owner and is refused by the other node; one Idempotency-Key sent to both
   nodes at once makes one order, and either node answers it afterwards.
2. Node a cut off from PostgreSQL (the proxy stops forwarding) while a write to one of its shops
   is in flight: node b takes the shard over once a's lease expired; when the path comes back,
   a's write is refused (fence) or never answered as done, and PostgreSQL does not have it.
3. SIGSTOP node a past its lease, a write queued meanwhile, SIGCONT: b serves a's shards, a
   answers the write `not_owner`, PostgreSQL does not have it.
4. kill -9 node b: a serves every shard within ttl + a round + 2 s, with the data PostgreSQL has.
5. SIGTERM of a node: it releases its leases, the other takes them over well before the ttl.

Last, login limits: 5 failed logins spread over both nodes lock the username on both.

All along, writers rename a set of shops through whichever node owns each (following
not_owner's owner_url): every acknowledged rename is in PostgreSQL at the end.

  cluster_test.py [--rounds N]   (rounds of 2-3)
"""

import argparse
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (Client, LoadThreads, Server, TcpProxy, World,  # noqa: E402
                     create_database, env_or_die, held_by, leases, log, must, order_body, psql,
                     renames_lost, report, shop_name, wait_until)

SHARDS = 8
TTL_MS = 1500
ROUND_S = TTL_MS / 3000.0


def node_env(name):
    # Ids not zoned (cluster_zone_deg 0): a shop's shard is its place in the sequence, so the
    # shops made below spread over every shard. cluster_routing_test.py runs with zones.
    return {"WASSALLY_CLUSTER_NODE_ID": name, "WASSALLY_CLUSTER_SHARDS": str(SHARDS),
            "WASSALLY_CLUSTER_ZONE_DEG": "0",
            "WASSALLY_CLUSTER_LEASE_TTL_MS": str(TTL_MS), "WASSALLY_REQUEST_TIMEOUT_MS": "3000",
            "WASSALLY_RECONCILE_INTERVAL_S": "0",
            # A token's user is not re-read from PostgreSQL during the test, so a write sent to
            # a node cut off from PostgreSQL reaches its entity and the write worker at once.
            "WASSALLY_AUTH_RECHECK_S": "3600",
            # Login limits are counted cluster-wide (checked last: the address is locked then)
            "WASSALLY_LOGIN_MAX_FAILURES": "5",
            # every node must verify the tokens the others sign
            "WASSALLY_TOKEN_SECRET": "cluster-test-secret-0123456789abcdef0123456789"}


class Writers(LoadThreads):
    """Load during every fault: each thread renames its shops in turn (name `w<shop>-<n>`, n
    rising), sending each write to the node it believes owns the shop, following not_owner's
    owner_url, switching node on a transport error. Records the last n acknowledged (2xx) per
    shop: PostgreSQL must hold at least that one at the end (0 acknowledged writes lost)."""

    def __init__(self, shops, ports, threads=2):
        self.ports = dict(ports)  # node -> port
        self.by_url = {f"http://127.0.0.1:{p}": p for p in self.ports.values()}
        self.acked = {}
        self.sent = 0
        self.statuses = {}
        self.lock = threading.Lock()
        super().__init__(self._run, [shops[i::threads] for i in range(threads)])

    def _run(self, shops):
        clients = {p: Client(p, timeout=3) for p in self.ports.values()}
        target = {s["id"]: list(self.ports.values())[0] for s in shops}
        n = 0
        while not self.stop.is_set():
            for s in shops:
                if self.stop.is_set():
                    break
                n += 1
                port = target[s["id"]]
                r = clients[port].patch(f"/api/v1/shops/{s['id']}",
                                        {"name": f"w{s['id']}-{n:07d}"}, token=s["owner"])
                with self.lock:
                    self.sent += 1
                    key = str(r.code or r.status or "transport")
                    self.statuses[key] = self.statuses.get(key, 0) + 1
                    if r.ok:
                        self.acked[s["id"]] = max(self.acked.get(s["id"], 0), n)
                if r.status == 503 and r.code == "not_owner":
                    url = r.body["error"].get("owner_url")
                    if url in self.by_url:
                        target[s["id"]] = self.by_url[url]
                    else:
                        time.sleep(0.05)  # being moved: ask again shortly
                elif r.status is None:
                    others = [p for p in self.ports.values() if p != port]
                    target[s["id"]] = others[0]
                    time.sleep(0.05)


def rename_in_background(port, shop, name):
    """Sends the shop's owner's rename to the node on `port` from a thread of its own (the node
    may be cut off or stopped); the function returned waits for the answer (None: none came)."""
    answer = {}

    def send():
        answer["r"] = Client(port, timeout=30).patch(f"/api/v1/shops/{shop['id']}",
                                                     {"name": name}, token=shop["owner"])
    t = threading.Thread(target=send)
    t.start()

    def wait():
        t.join(30)
        return answer.get("r")
    return wait


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    admin = env_or_die("WASSALLY_TEST_DATABASE_URL")
    db = create_database(admin, "cluster")
    pg_port = int(db.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    proxy = TcpProxy(pg_port)
    db_via_proxy = db.replace(f":{pg_port}/", f":{proxy.port}/", 1)
    # One write connection on a, opened by a first write before the cut: the cut-off write then
    # reaches PostgreSQL's lease check only when the path comes back (a connection opened
    # during the cut would time out first, and be answered 503 unavailable).
    a = Server(db_via_proxy, dict(node_env("a"), WASSALLY_DB_POOL_SIZE="1"))
    b = Server(db, node_env("b"))
    problems = []
    figures = {"shards": SHARDS, "ttl_ms": TTL_MS, "takeover_kill_s": [], "takeover_cutoff_s": [],
               "takeover_sigstop_s": [], "handover_sigterm_s": [], "fenced_writes_refused": 0}

    def check(ok, what):
        if not ok:
            problems.append(what)
            log("PROBLEM:", what)
        return ok

    def balanced():
        return len(held_by(db, "a")) == SHARDS // 2 and len(held_by(db, "b")) == SHARDS // 2

    try:
        a.start()
        b.start()
        wait_until("the nodes split the shards", balanced, 10 * TTL_MS / 1000)
        w = World(a.port)
        owners = {}
        # Shops until both nodes own some (ids are sequential: shard = id % SHARDS).
        shops = [w.shop() for _ in range(SHARDS)]  # for the fault scenarios
        loaded = [w.shop() for _ in range(SHARDS)]  # renamed by the writers all along
        ls = leases(db)
        node_port = {"a": a.port, "b": b.port}
        client = {"a": Client(a.port), "b": Client(b.port)}

        # 1. Each node serves its own shards and names the owner of the others.
        for s in shops:
            owner = ls[s["id"] % SHARDS][0]
            other = "b" if owner == "a" else "a"
            owners[s["id"]] = owner
            mine = client[owner].get(f"/api/v1/shops/{s['id']}")
            check(mine.status == 200, f"shop {s['id']} on its owner {owner}: {mine!r}")
            theirs = client[other].get(f"/api/v1/shops/{s['id']}")
            check(theirs.status == 503 and theirs.code == "not_owner" and
                  theirs.body["error"].get("owner_node") == owner and
                  theirs.body["error"].get("owner_url") == f"http://127.0.0.1:{node_port[owner]}",
                  f"shop {s['id']} on {other}: expected 503 not_owner naming {owner}, got "
                  f"{theirs!r}")
        for name in ("a", "b"):
            view = must(client[name].get("/api/v1/admin/cluster", token=w.staff), 200)
            check(view["mode"] == "cluster" and view["node"] == name and
                  sorted(view["held"]) == held_by(db, name),
                  f"/admin/cluster on {name} says {view['held']}, PostgreSQL "
                  f"{held_by(db, name)}")
        a_shop = next(s for s in shops if owners[s["id"]] == "a")

        # A placement through the node that owns the shop: its stock is taken under the shop's
        # lease (the transaction is fenced by it). Through the other node the shop refuses
        # (not_owner) and nothing is taken.
        product = w.product(a_shop, 10)
        customer = w.customer()
        placed = client["a"].post("/api/v1/orders", order_body([(product, 3)]),
                                  token=customer["token"])
        check(placed.status == 201, f"a placement through the shop's owner: {placed!r}")
        elsewhere = client["b"].post("/api/v1/orders", order_body([(product, 2)]),
                                     token=customer["token"])
        check(elsewhere.status == 503 and elsewhere.code == "not_owner",
              f"a placement through the other node: {elsewhere!r} (expected 503 not_owner)")
        stock = float(psql(db, f"SELECT stock FROM products WHERE id = {int(product)}")[0][0])
        check(stock == 7, f"stock after one placement of 3 of 10 (and one refused): {stock}")

        # One Idempotency-Key sent to both nodes at once, then retried on each: one order.
        keyed = w.customer()
        key = {"Idempotency-Key": "cluster-key-1"}
        answers = []

        def keyed_place(port):
            answers.append(Client(port).post("/api/v1/orders", order_body([(product, 1)]),
                                             token=keyed["token"], headers=key))
        both = [threading.Thread(target=keyed_place, args=(p,)) for p in (a.port, b.port)]
        for t in both:
            t.start()
        for t in both:
            t.join(30)
        for _ in range(50):
            keyed_place(a.port)
            if answers[-1].status == 201:
                break
            time.sleep(0.1)
        keyed_place(b.port)  # the stored answer, whichever node is asked
        ids = {r.body["id"] for r in answers if r.status == 201}
        figures["one_key_two_nodes_answers"] = [r.code or r.status for r in answers]
        orders = int(psql(db, f"SELECT count(*) FROM orders WHERE user_id = {keyed['id']}")
                     [0][0])
        check(orders == 1 and len(ids) == 1,
              f"one key on two nodes: {orders} orders in PostgreSQL, answers {answers}")
        check(answers[-1].status == 201,
              f"the other node answers a key's stored order: {answers[-1]!r}")
        writers = Writers(loaded, {"a": a.port, "b": b.port})
        writers.start()

        for rnd in range(args.rounds):
            # 2. a cut off from PostgreSQL with a write in flight.
            before = f"before the cut {rnd}"
            must(client["a"].patch(f"/api/v1/shops/{a_shop['id']}", {"name": before},
                                   token=a_shop["owner"]), 200)
            check(shop_name(db, a_shop["id"]) == before, "a's write before the cut is missing")
            shard = a_shop["id"] % SHARDS
            epoch_before = leases(db)[shard][1]
            proxy.pause()
            cut_at = time.time()
            pending = rename_in_background(a.port, a_shop, f"cut-off write {rnd}")
            took = wait_until("b takes a's shard over while a is cut off",
                              lambda: leases(db)[shard][0] == "b", 4 * TTL_MS / 1000)
            figures["takeover_cutoff_s"].append(round(time.time() - cut_at, 2))
            check(leases(db)[shard][1] > epoch_before, "the takeover did not raise the epoch")
            proxy.resume()
            r = pending()
            check(r is not None and not (200 <= (r.status or 0) < 300),
                  f"a answered a write it could not have made durably under its lease: {r!r}")
            if r is not None and r.status == 503 and r.code == "not_owner":
                if r.body["error"].get("fenced") == "true":
                    figures["fenced_writes_refused"] += 1
                    metrics = client["a"].get("/metrics").raw.decode()
                    counted = [line for line in metrics.splitlines()
                               if line.startswith("wassally_fenced_writes_total ")]
                    check(counted and float(counted[0].split()[1]) >= 1,
                          f"a refused a write by its fence but /metrics says {counted}")
                else:
                    figures["refused_by_registry"] = figures.get("refused_by_registry", 0) + 1
            check(shop_name(db, a_shop["id"]) == before,
                  f"PostgreSQL has a's write after the takeover: {shop_name(db, a_shop['id'])!r}")
            seen = client["b"].get(f"/api/v1/shops/{a_shop['id']}")
            check(seen.status == 200 and seen.body["name"] == before,
                  f"b serves {seen!r}, PostgreSQL has {before!r}")
            log(f"round {rnd + 1}: cut off: b took shard {shard} over after {took:.2f} s;"
                f" a's write answered {r!r}")
            wait_until("a rejoins and the shards rebalance", balanced, 20 * TTL_MS / 1000)

            # 3. SIGSTOP a past its lease; a write queued meanwhile is refused after SIGCONT.
            a_shop_now = next(s for s in shops if leases(db)[s["id"] % SHARDS][0] == "a")
            shard = a_shop_now["id"] % SHARDS
            before = shop_name(db, a_shop_now["id"])
            os.kill(a.proc.pid, signal.SIGSTOP)
            stopped_at = time.time()
            pending = rename_in_background(a.port, a_shop_now, f"paused write {rnd}")
            try:
                wait_until("b takes a's shards over while a is stopped",
                           lambda: len(held_by(db, "b")) == SHARDS, 4 * TTL_MS / 1000)
                figures["takeover_sigstop_s"].append(round(time.time() - stopped_at, 2))
            finally:
                os.kill(a.proc.pid, signal.SIGCONT)
            r = pending()
            check(r is not None and r.status == 503 and r.code == "not_owner",
                  f"a, resumed after losing its lease, answered a queued write {r!r}"
                  " (expected 503 not_owner)")
            check(shop_name(db, a_shop_now["id"]) == before,
                  "PostgreSQL has the write a received while stopped")
            wait_until("a rejoins after SIGCONT", balanced, 20 * TTL_MS / 1000)

            # 4. kill -9 b: a serves everything within ttl + a round + 2 s.
            b.kill()
            killed_at = time.time()
            wait_until("a holds every shard after b's kill -9",
                       lambda: len(held_by(db, "a")) == SHARDS, TTL_MS / 1000 + ROUND_S + 2.0)
            figures["takeover_kill_s"].append(round(time.time() - killed_at, 2))
            for s in shops:
                got = client["a"].get(f"/api/v1/shops/{s['id']}")
                check(got.status == 200 and got.body["name"] == shop_name(db, s["id"]),
                      f"after b's kill, a serves shop {s['id']} as {got!r}")
            b.start()
            client["b"] = Client(b.port)  # the old connection died with the old process
            wait_until("b rejoins after its restart", balanced, 20 * TTL_MS / 1000)

            # 5. SIGTERM b: its leases are released, a takes them well before the ttl.
            term_at = time.time()
            code, _ = b.terminate()
            check(code == 0, f"b exited {code} on SIGTERM")
            took = wait_until("a holds every shard after b's SIGTERM",
                              lambda: len(held_by(db, "a")) == SHARDS, TTL_MS / 1000 + 2)
            figures["handover_sigterm_s"].append(round(time.time() - term_at, 2))
            check(took < TTL_MS / 1000,
                  f"after a graceful stop the takeover took {took:.2f} s, as long as a ttl")
            b.start()
            client["b"] = Client(b.port)
            wait_until("b rejoins", balanced, 20 * TTL_MS / 1000)

        writers.finish()

        # Login limits hold across nodes: 5 failures spread over both, then both refuse.
        victim = w.customer()
        client = {"a": Client(a.port), "b": Client(b.port)}  # b was restarted: new connections
        spread = []
        for i in range(5):
            spread.append(client["a" if i % 2 == 0 else "b"].post(
                "/api/v1/auth/login", {"username": victim["name"], "password": "wrong-password"}))
        check([r.status for r in spread] == [401] * 5,
              f"5 wrong passwords over two nodes: {[r.status for r in spread]}")
        for name in ("b", "a"):
            r = client[name].post("/api/v1/auth/login",
                                  {"username": victim["name"], "password": "wrong-password"})
            check(r.status == 429 and r.code == "rate_limited",
                  f"a 6th attempt on {name} after 5 failures spread over both nodes: {r!r}")
        figures["login_limit_cluster_wide"] = not any("attempt on" in p for p in problems)
        figures["load_writes_sent"] = writers.sent
        figures["load_shops_with_acked_writes"] = len(writers.acked)
        figures["load_statuses"] = writers.statuses
        check(writers.statuses.get("200", 0) > 0, f"no write of the load succeeded: {writers.statuses}")
        lost = renames_lost(db, loaded, writers.acked)
        figures["acknowledged_writes_lost"] = len(lost)
        check(not lost, f"acknowledged writes missing from PostgreSQL (shop, last acked, has): "
                        f"{lost}")

        # Every shop is writable through its owner at the end. Shards went back and forth at
        # new epochs: an entity still live under an old epoch (not stopped when its shard was
        # lost) would have every write refused by the fence from then on.
        ports = {"a": a.port, "b": b.port}
        for s in loaded:
            name = f"final write {s['id']}"
            r = None
            deadline = time.time() + 3
            while time.time() < deadline:
                owner = leases(db)[s["id"] % SHARDS][0]
                r = Client(ports[owner]).patch(f"/api/v1/shops/{s['id']}", {"name": name},
                                               token=s["owner"])
                if r.status != 503:
                    break
                time.sleep(0.1)  # the owner's registry hears of its lease within a round
            check(r is not None and r.status == 200 and shop_name(db, s["id"]) == name,
                  f"shop {s['id']} not writable through its owner at the end: {r!r}")
        # No shard was ever held twice: at every claim the epoch rose (checked above), and the
        # end state has each shard once.
        final = leases(db)
        check(all(n in ("a", "b") for n, _, _ in final.values()),
              f"shards without an owner at the end: {final}")
    finally:
        if "writers" in locals():
            writers.finish()
        for s in (a, b):
            if s.alive():
                try:
                    os.kill(s.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            s.cleanup()
        proxy.close()
    return report("cluster", not problems, figures, problems)


if __name__ == "__main__":
    sys.exit(run_main("cluster", main))
