#!/usr/bin/env python3
"""Graceful shutdown: SIGTERM under full order load. Requests sent well before the signal all get
an HTTP answer (completed, or a clean 503 `unavailable` / 504 `timeout`), never a reset
connection; the process exits 0 within the configured drain time (shutdown_drain_s), also with a
request stuck on a row lock; every acknowledged change is in the database (checked like the crash
test). Repeated --rounds times (restart in between).

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
                     order_body, report)
from load import Load, describe_statuses  # noqa: E402

DRAIN_S = 5
REQUEST_TIMEOUT_MS = 3000
# A request sent this long before SIGTERM has reached the server's reactor by then.
GRACE_S = 0.2


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
        load.start()
        terms = []
        for rnd in range(args.rounds):
            time.sleep(random.uniform(1.5, 3.0))
            t_term = time.time()
            code, took = srv.terminate(timeout=DRAIN_S + 20)
            terms.append(t_term)
            figures["faults"] += 1
            figures["exit_codes"].append(code)
            figures["max_exit_s"] = round(max(figures["max_exit_s"], took), 2)
            log(f"SIGTERM {rnd + 1}: exit {code} after {took:.2f} s")
            if code != 0:
                problems.append(f"SIGTERM {rnd + 1}: exit code {code}")
            if took > DRAIN_S + 2:
                problems.append(f"SIGTERM {rnd + 1}: took {took:.2f} s (drain {DRAIN_S} s)")
            srv.start()
        time.sleep(1)
        load.stop()
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
        figures["in_flight_at_sigterm"] = in_flight
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
