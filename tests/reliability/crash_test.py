#!/usr/bin/env python3
"""Crash under load: orders placed, accepted, picked up, delivered and cancelled at full speed
while the server is SIGKILLed at random moments and restarted; then every acknowledged request
must be in the database exactly once and the data rules must hold.

  crash_test.py [--kills N] [--seconds-between S]   (short form: 1 kill; soak: --kills 5+)
"""

import argparse
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import Server, create_database, env_or_die, log, report  # noqa: E402
from load import Load, describe_statuses  # noqa: E402

COINS = 7  # a coin rule other than the default, so the check reads the configuration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=1)
    ap.add_argument("--seconds-between", type=float, default=3.0)
    ap.add_argument("--customers", type=int, default=4)
    ap.add_argument("--crews", type=int, default=3)
    args = ap.parse_args()

    db = create_database(env_or_die("WASSALLY_TEST_DATABASE_URL"), "crash")
    srv = Server(db, {"WASSALLY_COINS_PER_ORDER": str(COINS), "WASSALLY_CREW_MAX_ORDERS": "100"})
    srv.start()
    try:
        load = Load(srv.port, customers=args.customers, crews=args.crews)
        load.start()
        kills = 0
        for i in range(args.kills):
            time.sleep(random.uniform(0.5, 2 * args.seconds_between - 0.5))
            before = len(load.ledger.snapshot())
            srv.kill()
            kills += 1
            log(f"kill {kills}: SIGKILL after {before} logged responses")
            time.sleep(random.uniform(0.0, 0.5))
            t0 = time.time()
            srv.start()
            log(f"restarted and ready in {time.time() - t0:.2f} s")
        time.sleep(args.seconds_between)
        load.stop()
        code, took = srv.terminate()
        figures, problems = load.verify(db, COINS)
        figures["faults"] = kills
        figures["restarts"] = srv.starts - 1
        log("responses:", describe_statuses(load.ledger.snapshot()))
        ok = (not problems and figures["lost"] == 0 and figures["duplicated"] == 0 and
              figures["placed_acked"] > 0 and figures["delivered"] > 0 and code == 0)
        if code != 0:
            problems.append(f"the final SIGTERM exited with {code}")
        if figures["placed_acked"] == 0 or figures["delivered"] == 0:
            problems.append("the load made no progress (no order placed or delivered)")
        if not ok:
            log("server log tail:\n" + srv.log_tail())
        return report("crash", ok, figures, problems)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(run_main("crash", main))
