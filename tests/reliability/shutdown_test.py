#!/usr/bin/env python3
"""Graceful shutdown: SIGTERM under full order load, with requests provably in flight. Before each
SIGTERM a psql session locks the row of a product and a burst of placements of it is sent, with
crews reporting their positions meanwhile; the signal goes once PostgreSQL shows a placement
waiting on that lock (so the server holds unanswered requests), and the lock is released just
after it. Every request in flight at the signal gets an HTTP answer (completed, or a clean JSON
503 `unavailable` / 504 `timeout`), never a reset connection; there must be some; the process
exits 0 within the configured drain time (shutdown_drain_s), also with a request stuck on a row
lock; every acknowledged change is in the database (checked like the crash test), including each
crew's last position acknowledged with 204. Repeated --rounds times (restart in between).

  shutdown_test.py [--rounds N]
"""

import argparse
import os
import random
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (Client, Server, World, create_database, env_or_die, log,  # noqa: E402
                     order_body, psql, report)
from load import Load, describe_statuses, wait_for  # noqa: E402

DRAIN_S = 5
REQUEST_TIMEOUT_MS = 3000
# A request sent this long before SIGTERM has reached the server's reactor by then.
GRACE_S = 0.2
BURST_PLACEMENTS = 8
BURST_CREWS = 6
# How long after SIGTERM the row lock is released (below db_lock_timeout_ms, 2 s by default).
RELEASE_AFTER_S = 0.5


def clean(status, code):
    """An answer a client can act on: success, or the clean busy/timeout errors."""
    return status is not None and (200 <= status < 300 or (status, code) in (
        (503, "unavailable"), (504, "timeout")))


class Burst:
    """Placements held in the database by a row lock, and crews reporting positions, around one
    SIGTERM. Customers, crews and their connections are made once; each round uses them."""

    def __init__(self, port, db):
        self.db = db
        w = World(port)
        self.shop = w.shop()
        self.initial_stock = 100000
        self.product = w.product(self.shop, self.initial_stock)
        self.customers = [w.customer() for _ in range(BURST_PLACEMENTS)]
        self.crews = [w.crew(30.0, 31.0) for _ in range(BURST_CREWS)]
        self.port = port
        self.placements = []  # (customer id, Response, order id)
        self.positions = {c["id"]: [] for c in self.crews}  # crew -> [(latitude, Response)]
        self.lat_step = 0

    def _holder(self):
        """A psql session that locks the product's row until told to commit."""
        p = subprocess.Popen(["psql", "-X", "-q", "-d", self.db], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        p.stdin.write(f"BEGIN;\nSELECT id FROM products WHERE id = {self.product} FOR UPDATE;\n")
        p.stdin.flush()

        def held():
            try:
                psql(self.db, f"BEGIN; SELECT id FROM products WHERE id = {self.product}"
                              " FOR UPDATE NOWAIT; ROLLBACK;", timeout=5)
                return False
            except RuntimeError:
                return True
        if not wait_for(held, 10):
            p.kill()
            raise RuntimeError("the row lock was not taken")
        return p

    def waiting_on_lock(self):
        return int(psql(self.db, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                 " current_database() AND wait_event_type = 'Lock'")[0][0])

    def run(self, srv, problems):
        """Sends the burst, SIGTERMs the server once a placement waits on the lock, releases the
        lock; returns (SIGTERM time, exit code, seconds to exit)."""
        holder = self._holder()
        stop = threading.Event()
        threads = []
        lock = threading.Lock()

        def place(cust):
            c = Client(self.port, timeout=REQUEST_TIMEOUT_MS / 1000 + 10, token=cust["token"])
            r = c.post("/api/v1/orders", order_body([(self.product, 1)]))
            oid = r.body.get("id") if r.status == 201 and isinstance(r.body, dict) else None
            with lock:
                self.placements.append((cust["id"], r, oid))

        def report_positions(crew):
            c = Client(self.port, timeout=REQUEST_TIMEOUT_MS / 1000 + 10, token=crew["token"])
            k = 0
            while not stop.is_set():
                k += 1
                lat = round(30.0 + (self.lat_step + k) / 10000.0, 6)
                r = c.put("/api/v1/crew/location", {"latitude": lat, "longitude": 31.0})
                with lock:
                    self.positions[crew["id"]].append((lat, r))
                if r.status is None:
                    break  # the server is gone
        for cust in self.customers:
            threads.append(threading.Thread(target=place, args=(cust,), daemon=True))
        for crew in self.crews:
            threads.append(threading.Thread(target=report_positions, args=(crew,), daemon=True))
        for t in threads:
            t.start()
        try:
            if not wait_for(lambda: self.waiting_on_lock() > 0, 10):
                problems.append("no placement came to wait on the locked row")
            time.sleep(0.1)  # the crews' reports queue behind the held batches
            stop.set()
            t_term = time.time()
            srv.proc.terminate()
            time.sleep(RELEASE_AFTER_S)
        finally:
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait(10)
        try:
            code = srv.proc.wait(DRAIN_S + 20)
        except subprocess.TimeoutExpired:
            srv.kill()
            code = None
        took = time.time() - t_term
        for t in threads:
            t.join(REQUEST_TIMEOUT_MS / 1000 + 15)
        self.lat_step += 1000
        return t_term, code, took

    def in_flight_at(self, t):
        """Requests of the burst sent before t and answered (or failed) after it."""
        recs = [("place", r) for _, r, _ in self.placements]
        for crew, sent in self.positions.items():
            recs += [("position", r) for _, r in sent]
        return [(kind, r) for kind, r in recs if r.started < t < r.started + r.elapsed]

    def verify(self, problems):
        """Every 201 is an order of its customer; each crew's row holds its last acknowledged
        position (or one it sent later); stock agrees with the orders."""
        figures = {"burst_placed": 0, "burst_positions_acked": 0}
        users = ",".join(str(c["id"]) for c in self.customers)
        orders = {int(r[0]): int(r[1]) for r in psql(
            self.db, f"SELECT id, user_id FROM orders WHERE user_id IN ({users})")}
        for cust, r, oid in self.placements:
            if r.status == 201:
                figures["burst_placed"] += 1
                if orders.get(oid) != cust:
                    problems.append(f"acknowledged burst order {oid} of {cust} is not in the"
                                    " database")
        if len(orders) > len(self.placements):
            problems.append(f"{len(orders)} burst orders for {len(self.placements)} placements")
        stock, sold = psql(self.db, "SELECT stock, sales_count FROM products WHERE id ="
                                    f" {self.product}")[0]
        if abs(float(stock) + float(sold) - self.initial_stock) > 1e-6 or \
                abs(float(sold) - len(orders)) > 1e-6:
            problems.append(f"burst product: stock {stock}, sold {sold}, {len(orders)} orders")
        rows = {int(r[0]): float(r[1]) for r in psql(
            self.db, "SELECT user_id, latitude FROM delivery_crews WHERE user_id IN (" +
                     ",".join(str(c) for c in self.positions) + ")")}
        for crew, sent in self.positions.items():
            acked = [lat for lat, r in sent if r.status == 204]
            figures["burst_positions_acked"] += len(acked)
            if not acked:
                continue
            # Sent in order: the row holds the last acknowledged one, or one sent after it
            # (whose answer was an error, or lost with the process).
            last = max(i for i, (_, r) in enumerate(sent) if r.status == 204)
            allowed = [lat for lat, _ in sent[last:]]
            if not any(abs(rows.get(crew, -1) - lat) < 1e-9 for lat in allowed):
                problems.append(f"crew {crew}: position {sent[last][0]} acknowledged last, the"
                                f" database has {rows.get(crew)}")
        return figures


def stuck_shutdown(srv, db, problems, figures):
    """A request stuck in the database (its rows locked by another session for longer than the
    drain time) is answered by its deadline, and the process still exits 0 within the drain."""
    w = World(srv.port)
    shop = w.shop()
    pid = w.product(shop, 1000)
    cust = w.customer()
    hold = DRAIN_S + 15
    holder = subprocess.Popen(
        ["psql", "-X", "-q", "-d", db, "-c",
         f"BEGIN; SELECT id FROM products WHERE id = {pid} FOR UPDATE; "
         f"SELECT pg_sleep({hold}); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        answers = []

        def stuck():
            c = Client(srv.port, timeout=hold + 10, token=cust["token"])
            answers.append(c.post("/api/v1/orders", order_body([(pid, 1)])))

        t = threading.Thread(target=stuck, daemon=True)
        t.start()
        time.sleep(0.5)
        code, took = srv.terminate(timeout=hold + 10)
        t.join(hold + 10)
        figures["faults"] += 1
        figures["stuck_exit_s"] = round(took, 2)
        log(f"SIGTERM with a request stuck in the database: exit {code} after {took:.2f} s, "
            f"the request got {answers}")
        if code != 0 or took > DRAIN_S + 2:
            problems.append(f"SIGTERM with a stuck request: exit {code} after {took:.2f} s "
                            f"(drain {DRAIN_S} s)")
        if not answers or answers[0].status not in (503, 504):
            problems.append(f"the stuck request was answered {answers}, not 503/504")
    finally:
        holder.kill()
        holder.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "shutdown")
    srv = Server(db, {"WASSALLY_CREW_MAX_ORDERS": "100",
                      "WASSALLY_SHUTDOWN_DRAIN_S": str(DRAIN_S),
                      "WASSALLY_REQUEST_TIMEOUT_MS": str(REQUEST_TIMEOUT_MS)})
    srv.start()
    problems = []
    figures = {"faults": 0, "exit_codes": [], "max_exit_s": 0.0}
    try:
        load = Load(srv.port, customers=4, crews=3)
        burst = Burst(srv.port, db)
        load.start()
        terms = []
        burst_in_flight = 0
        for rnd in range(args.rounds):
            time.sleep(random.uniform(1.0, 2.0))
            t_term, code, took = burst.run(srv, problems)
            terms.append(t_term)
            figures["faults"] += 1
            figures["exit_codes"].append(code)
            figures["max_exit_s"] = round(max(figures["max_exit_s"], took), 2)
            in_flight = burst.in_flight_at(t_term)
            burst_in_flight += len(in_flight)
            kinds = {}
            for kind, r in in_flight:
                kinds[kind] = kinds.get(kind, 0) + 1
            log(f"SIGTERM {rnd + 1}: exit {code} after {took:.2f} s; burst requests in flight at"
                f" the signal: {kinds}")
            if code != 0:
                problems.append(f"SIGTERM {rnd + 1}: exit code {code}")
            if took > DRAIN_S + 2:
                problems.append(f"SIGTERM {rnd + 1}: took {took:.2f} s (drain {DRAIN_S} s)")
            if not in_flight:
                problems.append(f"SIGTERM {rnd + 1}: no request was in flight at the signal")
            for kind, r in in_flight:
                if not clean(r.status, r.code):
                    problems.append(f"SIGTERM {rnd + 1}: {kind} in flight at the signal was"
                                    f" answered {r!r}")
            srv.start()
        time.sleep(1)
        load.stop()
        # Idle, nothing in flight: the process ends at once rather than running out the drain
        # (a detached actor still referred to once kept its thread, and the process, waiting).
        time.sleep(0.5)
        code, took = srv.terminate(timeout=DRAIN_S + 10)
        figures["idle_exit_s"] = round(took, 2)
        log(f"SIGTERM when idle: exit {code} after {took:.2f} s")
        if code != 0 or took > 2.0:
            problems.append(f"SIGTERM when idle: exit {code} after {took:.2f} s (expected at once)")
        srv.start()
        stuck_shutdown(srv, db, problems, figures)
        recs = load.ledger.snapshot()
        # Requests sent well before a SIGTERM and still running at it: answered, not dropped.
        dropped = []
        in_flight = 0
        for r in recs:
            started, elapsed, status = r[6], r[7], r[4]
            for t in terms:
                if started < t - GRACE_S and started + elapsed > t:
                    in_flight += 1
                    if status is None:
                        dropped.append(r)
        unclean = [r for r in recs if r[4] is not None and r[4] >= 500 and
                   (r[4], r[5]) not in ((503, "unavailable"), (504, "timeout"))]
        if dropped:
            problems.append(f"{len(dropped)} requests in flight at SIGTERM got no answer: "
                            f"{dropped[:5]}")
        if unclean:
            problems.append(f"{len(unclean)} unclean error answers: {unclean[:5]}")
        v, p2 = load.verify(db, 10)
        problems += p2
        figures.update(v)
        figures.update(burst.verify(problems))
        figures["in_flight_at_sigterm"] = in_flight + burst_in_flight
        figures["burst_in_flight_at_sigterm"] = burst_in_flight
        figures["dropped_in_flight"] = len(dropped)
        log("responses:", describe_statuses(recs))
        ok = not problems and v["lost"] == 0 and v["duplicated"] == 0
        if not ok:
            log("server log tail:\n" + srv.log_tail())
        return report("shutdown", ok, figures, problems)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(run_main("shutdown", main))
