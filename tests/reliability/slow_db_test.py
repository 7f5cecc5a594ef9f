#!/usr/bin/env python3
"""Slow database: a psql session holds row locks on every product of one shop (its writes block
in PostgreSQL) while customers keep ordering from that shop. Catalog reads of the other shops
must not stall meanwhile: their p99 stays under --p99-ms. Orders of the other shops are the
bulkhead's measure: their p99 while the shop is locked against their p99 with nothing locked
(the baseline), reported as other_write_p99_ratio; with --max-ratio (scripts/soak: 3) it must
stay at or below it. Every order is answered cleanly (never 500) and every acknowledged one is
persisted.

  slow_db_test.py [--hold S] [--rounds N] [--p99-ms MS] [--baseline S] [--max-ratio R]
"""

import argparse
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (Client, Server, World, create_database, env_or_die, log,  # noqa: E402
                     order_body, percentile, psql, report)

POOL = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hold", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--p99-ms", type=float, default=100.0)
    ap.add_argument("--baseline", type=float, default=4.0,
                    help="seconds of load with nothing locked before the first hold")
    ap.add_argument("--max-ratio", type=float, default=None,
                    help="other shops' order p99 locked / baseline must stay <= this (soak)")
    args = ap.parse_args()
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "slow")
    srv = Server(db, {"WASSALLY_DB_POOL_SIZE": str(POOL), "WASSALLY_REQUEST_TIMEOUT_MS": "3000"})
    srv.start()
    problems = []
    try:
        w = World(srv.port)
        locked = w.shop()
        locked_products = [w.product(locked, 1000000) for _ in range(2)]
        others = [w.shop() for _ in range(3)]
        other_products = {s["id"]: [w.product(s, 1000000) for _ in range(3)] for s in others}
        customers = [w.customer() for _ in range(POOL + 4)]

        stop = threading.Event()
        # warmup (not measured: first plans, caches, connections), baseline (nothing locked),
        # locked, after.
        phase = {"name": "warmup"}
        reads = {"warmup": [], "baseline": [], "locked": [], "after": []}
        writes = {"warmup": [], "baseline": [], "locked": [], "after": []}
        blocked = []  # answers to orders of the locked shop
        read_errors = []
        placed = []  # (user, order id)

        def reader(i):
            cl = Client(srv.port, timeout=30)
            n = 0
            while not stop.is_set():
                n += 1
                s = others[(i + n) % len(others)]
                if n % 2:
                    r = cl.get(f"/api/v1/shops/{s['id']}/products?page_size=20")
                else:
                    r = cl.get(f"/api/v1/products/{other_products[s['id']][n % 3]}")
                if r.status != 200:
                    read_errors.append(r)
                reads[phase["name"]].append(r.elapsed * 1000)
                time.sleep(0.005)

        def other_writer(cust):
            cl = Client(srv.port, timeout=30, token=cust["token"])
            n = 0
            while not stop.is_set():
                n += 1
                s = others[n % len(others)]
                ph = phase["name"]
                r = cl.post("/api/v1/orders", order_body([(other_products[s["id"]][0], 1)]))
                writes[ph].append((r.elapsed * 1000, r.status))
                if r.status == 201:
                    placed.append((cust["id"], r.body["id"]))
                time.sleep(0.02)

        def locked_writer(cust):
            cl = Client(srv.port, timeout=30, token=cust["token"])
            while not stop.is_set():
                if phase["name"] != "locked":
                    time.sleep(0.01)
                    continue
                r = cl.post("/api/v1/orders", order_body([(locked_products[0], 1)]))
                blocked.append(r)
                if r.status == 201:
                    placed.append((cust["id"], r.body["id"]))

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(2)]
        threads += [threading.Thread(target=other_writer, args=(c,), daemon=True)
                    for c in customers[:2]]
        threads += [threading.Thread(target=locked_writer, args=(c,), daemon=True)
                    for c in customers[2:]]
        for t in threads:
            t.start()
        time.sleep(2)
        phase["name"] = "baseline"
        time.sleep(args.baseline)
        for rnd in range(args.rounds):
            ids = ",".join(str(p) for p in locked_products)
            holder = subprocess.Popen(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c",
                 f"BEGIN; SELECT id FROM products WHERE id IN ({ids}) FOR UPDATE; "
                 f"SELECT pg_sleep({args.hold}); COMMIT;"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.3)
            phase["name"] = "locked"
            log(f"round {rnd + 1}: products of shop {locked['id']} locked for {args.hold} s")
            holder.wait()
            if holder.returncode != 0:
                problems.append(f"the lock holder failed: {holder.stderr.read()}")
            phase["name"] = "after"
            log("lock released")
            time.sleep(3)
        stop.set()
        for t in threads:
            t.join(60)

        figures = {"faults": args.rounds}
        for ph in ("baseline", "locked", "after"):
            figures[f"read_p99_ms_{ph}"] = round(percentile(reads[ph], 99), 1)
            figures[f"reads_{ph}"] = len(reads[ph])
            figures[f"other_write_p99_ms_{ph}"] = round(
                percentile([e for e, _ in writes[ph]], 99), 1)
        # The bulkhead: orders of other shops while one shop's rows are locked, against the same
        # load with nothing locked.
        base = max(figures["other_write_p99_ms_baseline"], 1.0)
        figures["other_write_p99_ratio"] = round(figures["other_write_p99_ms_locked"] / base, 2)
        figures["other_writes_locked"] = len(writes["locked"])
        figures["other_writes_baseline"] = len(writes["baseline"])
        log(f"other shops' orders: p99 {figures['other_write_p99_ms_locked']} ms while shop "
            f"{locked['id']} is locked vs {figures['other_write_p99_ms_baseline']} ms with nothing "
            f"locked: ratio {figures['other_write_p99_ratio']}")
        if args.max_ratio is not None and figures["other_write_p99_ratio"] > args.max_ratio:
            problems.append(f"orders of other shops: p99 {figures['other_write_p99_ms_locked']} ms "
                            f"while one shop is locked vs {figures['other_write_p99_ms_baseline']} "
                            f"ms unlocked, ratio {figures['other_write_p99_ratio']} > "
                            f"{args.max_ratio}")
        if len(writes["locked"]) < 20:
            problems.append(f"only {len(writes['locked'])} orders of other shops during the lock")
        figures["locked_shop_answers"] = {}
        for r in blocked:
            k = f"{r.status}{'/' + r.code if r.code else ''}"
            figures["locked_shop_answers"][k] = figures["locked_shop_answers"].get(k, 0) + 1
        if figures["read_p99_ms_locked"] > args.p99_ms:
            problems.append(f"catalog reads of other shops: p99 {figures['read_p99_ms_locked']} "
                            f"ms while one shop is locked (limit {args.p99_ms} ms)")
        if len(reads["locked"]) < 20:
            problems.append(f"only {len(reads['locked'])} reads during the lock")
        if read_errors:
            problems.append(f"{len(read_errors)} catalog reads failed: {read_errors[:3]}")
        # Orders of other shops must be answered cleanly: 201, or at worst 503/504 (the one batch
        # that met the lock before the shop was known to be hot), never 500 or dropped.
        other_failed = [s for ph in writes for _, s in writes[ph] if s != 201]
        figures["other_writes_failed"] = len(other_failed)
        unclean = [s for s in other_failed if s is None or s not in (503, 504)]
        if unclean:
            problems.append(f"orders of unrelated shops answered badly: {unclean[:10]}")
        bad = [r for r in blocked if r.status is None or
               (r.status >= 500 and r.status not in (503, 504))]
        if bad:
            problems.append(f"orders of the locked shop answered badly: {bad[:3]}")
        # Acknowledged orders are there.
        in_db = {(int(u), int(i)) for u, i in psql(db, "SELECT user_id, id FROM orders")}
        lost = [p for p in placed if p not in in_db]
        figures["acknowledged"] = len(placed)
        figures["lost"] = len(lost)
        if lost:
            problems.append(f"{len(lost)} acknowledged orders missing: {lost[:5]}")
        if not srv.alive():
            problems.append("the server died")
        ok = not problems
        if not ok:
            log("server log tail:\n" + srv.log_tail())
        return report("slow_db", ok, figures, problems)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(run_main("slow_db", main))
