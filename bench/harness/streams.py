#!/usr/bin/env python3
"""W4 of scripts/bench: order event streams (SSE) against a running server with the harness's
data set. Reuses the stream client of bench/events/sse_load.py.

  streams.py PORT SERVER_PID USERNAME PASSWORD PRODUCTS [--capacity N] [--latency N]
             [--rate PER_S] [--hold S] [--ref-orders N]

1. delay at --latency streams (10 per order): the orders are cancelled at a steady --rate per
   second, one after another; for every stream, the delay from sending the cancel to the
   `cancelled` event arriving (an upper bound of commit → event). Reference in the same run:
   the same with 1 stream per order (--ref-orders, default 30), same rate.
2. capacity: --capacity streams at once (10 per order), held --hold seconds; how many are still
   open, and the server's resident memory before and after.
Prints one JSON object.
"""
import asyncio
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events"))
from sse_load import api, login, open_streams, rss_and_threads  # noqa: E402


class World:
    def __init__(self, port, username, password, products_file):
        self.port = port
        self.customer = login(port, username, password)
        self.ranges = []
        for line in open(products_file):
            _s, a, b = map(int, line.split())
            self.ranges.append((a, b))
        self.rnd = random.Random(5)

    def place(self):
        first, last = self.ranges[self.rnd.randrange(len(self.ranges))]
        return api(self.port, "POST", "/api/v1/orders", {
            "receiver_name": "Bench receiver", "receiver_phone": "+201000000000",
            "location": {"address": "Bench street", "latitude": 30.06, "longitude": 31.24},
            "items": [{"product_id": self.rnd.randint(first, last), "quantity": 1}]},
            self.customer)["id"]

    def cancel(self, order_id):
        return api(self.port, "POST", f"/api/v1/orders/{order_id}/cancel", {}, self.customer)


def pick(xs, q):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * q))], 3) if xs else None


async def paced_delays(world, n_orders, per_order, rate):
    orders = [world.place() for _ in range(n_orders)]
    streams, opened_s = await open_streams(world, orders, per_order)
    by_order = {}
    for s in streams:
        by_order.setdefault(s.order_id, []).append(s)
    loop = asyncio.get_event_loop()
    sent, answered = {}, {}
    t0 = time.monotonic()
    for i, o in enumerate(orders):
        wait = t0 + i / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        sent[o] = time.monotonic()
        await loop.run_in_executor(None, world.cancel, o)
        answered[o] = time.monotonic()
    deadline = time.monotonic() + 15
    from_sent, from_200, missing = [], [], 0
    for o in orders:
        for s in by_order[o]:
            while not any(st == "cancelled" for st, _ in s.events) and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            at = next((t for st, t in s.events if st == "cancelled"), None)
            if at is None:
                missing += 1
                continue
            from_sent.append((at - sent[o]) * 1000)
            from_200.append((at - answered[o]) * 1000)
    for s in streams:
        s.close()
    return {"streams": len(streams), "orders": n_orders, "rate_per_s": rate,
            "events": len(from_sent), "missing_events": missing,
            "p50_ms": pick(from_sent, 0.5), "p99_ms": pick(from_sent, 0.99),
            "max_ms": round(max(from_sent), 3) if from_sent else None,
            "after_200_p50_ms": pick(from_200, 0.5), "after_200_p99_ms": pick(from_200, 0.99)}


async def capacity(world, n, hold, pid):
    orders = [world.place() for _ in range(max(1, n // 10))]
    rss_before, _ = rss_and_threads(pid)
    with open(f"/proc/{pid}/status") as f:
        kib_before = int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    try:
        streams, took = await open_streams(world, orders, 10)
    except Exception as e:  # noqa: BLE001 — report how far it got instead of a traceback
        return {"streams": n, "opened": 0, "error": repr(e)[:300]}
    await asyncio.sleep(hold)
    open_after = sum(1 for s in streams if not s.closed)
    with open(f"/proc/{pid}/status") as f:
        kib_after = int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    _, threads = rss_and_threads(pid)
    t = time.monotonic()
    api(world.port, "GET", "/health")
    health_ms = (time.monotonic() - t) * 1000
    for s in streams:
        s.close()
    return {"streams": len(streams), "opened": len(streams), "opened_in_s": round(took, 2),
            "held_s": hold, "open_after_hold": open_after,
            "rss_kib_before": kib_before, "rss_kib_after": kib_after,
            "kib_per_stream": round((kib_after - kib_before) / max(1, len(streams)), 2),
            "server_threads": threads, "health_ms_while_holding": round(health_ms, 2),
            "rss_mib_before": rss_before}


async def main():
    port, pid, user, password, products = sys.argv[1:6]
    opts = dict(zip(sys.argv[6::2], sys.argv[7::2]))
    port, pid = int(port), int(pid)
    world = World(port, user, password, products)
    rate = float(opts.get("--rate", 20))
    n = int(opts.get("--latency", 1000))
    out = {"reference_1_stream": await paced_delays(world, int(opts.get("--ref-orders", 30)), 1, rate),
           "loaded": await paced_delays(world, max(1, n // 10), 10, rate),
           "capacity": await capacity(world, int(opts.get("--capacity", 10000)),
                                      float(opts.get("--hold", 10)), pid)}
    import json
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
