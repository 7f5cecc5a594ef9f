#!/usr/bin/env python3
"""Database outage, on a PostgreSQL cluster of the test's own (it is stopped and restarted):

1. A PostgreSQL restart between two requests of a client is invisible: every later request
   is answered 2xx (broken connections are replaced transparently, never a 500 or 503).
2. PostgreSQL stopped for --outage seconds under load: every request is answered within the
   request timeout (503 `unavailable` where the database is needed, never 500, never a hang),
   /ready answers 503, the process stays up; after PostgreSQL is back the service resumes by
   itself within a few seconds with the whole pool rebuilt; nothing acknowledged is lost.

  db_outage_test.py [--outage S] [--rounds N]
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
from harness import (Client, PrivateCluster, Server, World, create_database, log,  # noqa: E402
                     order_body, report)
from load import Load, describe_statuses, wait_for  # noqa: E402

REQUEST_TIMEOUT_MS = 3000
POOL = 4
RECOVERY_S = 5.0


def restart_between_requests(srv, cluster, problems):
    """Part 1: returns the number of requests checked."""
    w = World(srv.port)
    shop = w.shop()
    product = w.product(shop, 100000)
    cust = w.customer()
    c = Client(srv.port, timeout=10, token=cust["token"])
    r = c.post("/api/v1/orders", order_body([(product, 1)]))
    if r.status != 201:
        problems.append(f"placement before the restart: {r!r}")
    checked = 0
    for round_ in range(2):
        cluster.restart()
        # More requests than connections, so that every pooled connection meets the restart.
        for i in range(3 * POOL):
            for path, body in (("/ready", None), ("/api/v1/orders", order_body([(product, 1)]))):
                r = c.post(path, body) if body else c.get(path)
                checked += 1
                if not r.ok:
                    problems.append(f"after PostgreSQL restart {round_ + 1}, request {i} "
                                    f"{path}: {r!r}")
    return checked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outage", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    cluster = PrivateCluster()
    srv = None
    problems = []
    figures = {"faults": 0}
    try:
        db = create_database(cluster.admin_url, "outage")
        srv = Server(db, {"WASSALLY_REQUEST_TIMEOUT_MS": str(REQUEST_TIMEOUT_MS),
                          "WASSALLY_DB_POOL_SIZE": str(POOL),
                          "WASSALLY_DB_CONNECT_TIMEOUT_S": "1",
                          "WASSALLY_CREW_MAX_ORDERS": "100"})
        srv.start()
        figures["restart_requests_checked"] = restart_between_requests(srv, cluster, problems)
        figures["faults"] += 2
        for p in problems:
            log("PROBLEM:", p)

        load = Load(srv.port, customers=3, crews=2, timeout=REQUEST_TIMEOUT_MS / 1000 + 10)
        readers_stop = threading.Event()
        reads = []  # (started, elapsed, status, code)
        ready_log = []  # (t, status)

        def reader():
            cl = Client(srv.port, timeout=30)
            shop_ids = sorted(set(load.shop_of.values()))
            i = 0
            while not readers_stop.is_set():
                i += 1
                r = cl.get(f"/api/v1/shops/{shop_ids[i % len(shop_ids)]}/products?page_size=20")
                reads.append((r.started, r.elapsed, r.status, r.code))
                r2 = cl.get("/api/v1/orders?page_size=5", token=load.customers[0]["token"])
                reads.append((r2.started, r2.elapsed, r2.status, r2.code))
                time.sleep(0.01)

        def ready_poller():
            while not readers_stop.is_set():
                ready_log.append((time.time(), srv.ready_status(REQUEST_TIMEOUT_MS / 1000 + 5)))
                time.sleep(0.1)

        threads = [threading.Thread(target=reader, daemon=True),
                   threading.Thread(target=ready_poller, daemon=True)]
        load.start()
        for t in threads:
            t.start()
        recoveries = []
        windows = []
        for rnd in range(args.rounds):
            time.sleep(3)
            t_stop = time.time()
            cluster.stop()
            figures["faults"] += 1
            log(f"outage {rnd + 1}: PostgreSQL stopped")
            time.sleep(args.outage)
            if not srv.alive():
                problems.append("the server died during the outage")
                break
            t_start = time.time()
            cluster.start()
            windows.append((t_stop, t_start))
            log(f"outage {rnd + 1}: PostgreSQL started again")
            n0 = len([r for r in load.ledger.snapshot() if r[0] == "place" and r[4] == 201])
            ready_back = wait_for(lambda: srv.ready_status() == 200, 30)
            t_ready = time.time()
            placed_back = wait_for(
                lambda: len([r for r in load.ledger.snapshot()
                             if r[0] == "place" and r[4] == 201]) > n0, 30)
            t_placed = time.time()
            if not ready_back or not placed_back:
                problems.append(f"service did not resume within 30 s of PostgreSQL's return")
            recoveries.append((t_ready - t_start, t_placed - t_start))
            log(f"outage {rnd + 1}: /ready 200 after {t_ready - t_start:.2f} s, "
                f"first placement after {t_placed - t_start:.2f} s")
        time.sleep(3)
        # The whole pool is back: a burst wider than the pool succeeds.
        burst = []

        def burst_one(cust):
            cl = Client(srv.port, timeout=10, token=cust["token"])
            for _ in range(3):
                burst.append(cl.get("/ready"))

        bt = [threading.Thread(target=burst_one, args=(c,)) for c in load.customers * 3]
        for t in bt:
            t.start()
        for t in bt:
            t.join()
        bad_burst = [r for r in burst if r.status != 200]
        if bad_burst:
            problems.append(f"{len(bad_burst)} of {len(burst)} /ready in a burst after recovery "
                            f"failed: {bad_burst[:3]}")
        metrics = Client(srv.port).get("/metrics").raw.decode("utf-8", "replace")
        m = re.search(r"^wassally_db_pool_size (\d+)", metrics, re.M)
        if not m or int(m.group(1)) != POOL:
            problems.append(f"db pool size after recovery: {m and m.group(1)}")

        readers_stop.set()
        load.stop()
        for t in threads:
            t.join(30)

        # Every answer came within the request timeout; during outages only 2xx (answered from
        # memory), 503 unavailable, or 504 timeout for a write whose connection broke while its
        # COMMIT was on the way (outcome unknown: API.md); never a 500.
        limit = REQUEST_TIMEOUT_MS / 1000 + 1.0
        all_answers = [(r[6], r[7], r[4], r[5]) for r in load.ledger.snapshot()] + reads
        slow = [a for a in all_answers if a[2] is not None and a[1] > limit]
        hung = [a for a in all_answers if a[2] is None and a[1] > limit]
        errors500 = [a for a in all_answers if a[2] is not None and a[2] >= 500 and a[2] != 503
                     and not (a[2] == 504 and a[3] == "timeout")]
        wrong503 = [a for a in all_answers if a[2] == 503 and a[3] != "unavailable"]
        if slow or hung:
            problems.append(f"{len(slow) + len(hung)} answers slower than {limit} s: "
                            f"{(slow + hung)[:5]}")
        if errors500:
            problems.append(f"{len(errors500)} answers 5xx other than 503: {errors500[:5]}")
        if wrong503:
            problems.append(f"503 without code unavailable: {wrong503[:5]}")
        in_outage = [a for a in all_answers
                     if any(s + 0.5 < a[0] < e - limit for s, e in windows)]
        unavailable = sum(1 for a in in_outage if a[2] == 503)
        if not in_outage or unavailable == 0:
            problems.append("no request was answered 503 during the outage")
        for s, e in windows:
            during = [st for t, st in ready_log if s + 2 < t < e]
            if not during or any(st != 503 for st in during):
                problems.append(f"/ready during the outage: {during[:20]}")
        no_answer = [a for a in in_outage if a[2] is None]
        if no_answer:
            problems.append(f"{len(no_answer)} requests during the outage got no HTTP answer: "
                            f"{no_answer[:3]}")
        for ready_s, placed_s in recoveries:
            if ready_s > RECOVERY_S or placed_s > RECOVERY_S:
                problems.append(f"recovery took {ready_s:.2f} s (/ready) and {placed_s:.2f} s "
                                f"(placement), over {RECOVERY_S} s")
        if not srv.alive():
            problems.append("the server is not running")
        code, took = srv.terminate()
        if code != 0:
            problems.append(f"SIGTERM exit code {code}")
        v, p2 = load.verify(db, 10)
        problems += p2
        figures.update(v)
        figures["answers_during_outage"] = len(in_outage)
        figures["unavailable_during_outage"] = unavailable
        figures["max_answer_s"] = round(max((a[1] for a in all_answers), default=0), 3)
        figures["recovery_ready_s"] = round(max((r[0] for r in recoveries), default=-1), 2)
        figures["recovery_placement_s"] = round(max((r[1] for r in recoveries), default=-1), 2)
        log("responses:", describe_statuses(load.ledger.snapshot()))
        ok = not problems and figures["lost"] == 0 and figures["duplicated"] == 0
        if not ok:
            log("server log tail:\n" + srv.log_tail())
        return report("db_outage", ok, figures, problems)
    finally:
        if srv:
            srv.cleanup()
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(run_main("db_outage", main))
