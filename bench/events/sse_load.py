#!/usr/bin/env python3
"""Order event streams under load (GET /api/v1/orders/{id}/events), against a running server.

  sse_load.py PORT SERVER_PID [--capacity N] [--latency N] [--hold S]

1. capacity: opens N streams at once (10 per order), checks each got its first event, holds
   them for S seconds (keepalives must arrive, nothing may close), then reports the server's
   resident memory and threads.
2. latency: with N streams open (10 per order), cancels the orders one after another and
   measures, for every stream, the delay from sending the cancel to the `cancelled` event (an
   upper bound of commit → event; the delay from the client seeing the 200 is reported too and
   is often negative: the event overtakes the response). The reference, measured in the same
   run, is the same delay with a single stream open. Then the fan-out case: N streams on one
   order, one change.
Loopback only. Prints one JSON object.
"""
import asyncio
import json
import statistics
import sys
import time
import urllib.request

HOST = "127.0.0.1"


def api(port, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None


def login(port, user, password):
    return api(port, "POST", "/api/v1/auth/login", {"username": user, "password": password})["access"]


class World:
    def __init__(self, port):
        self.port = port
        self.staff = login(port, "bench.staff", "bench-staff-1")
        cat = api(port, "POST", "/api/v1/shop-categories", {"name": "bench"}, self.staff)["id"]
        shop = api(port, "POST", "/api/v1/shops", {
            "name": "SSE bench shop", "phone_number": "+201230000001", "category_id": cat,
            "location": {"latitude": 30, "longitude": 31},
            "owner": {"username": "sse.owner", "password": "owner-pass-1", "phone_number": "+201230000002"}},
            self.staff)["id"]
        owner = login(port, "sse.owner", "owner-pass-1")
        self.product = api(port, "POST", f"/api/v1/shops/{shop}/products",
                           {"name": "Tea", "price": "1.00", "is_unlimited": True}, owner)["id"]
        api(port, "POST", "/api/v1/auth/register",
            {"username": "sse.customer", "password": "password-1", "phone_number": "+201230000003"})
        self.customer = login(port, "sse.customer", "password-1")

    def place(self):
        return api(self.port, "POST", "/api/v1/orders", {
            "receiver_name": "R", "receiver_phone": "+201230000009",
            "location": {"latitude": 30.1, "longitude": 31.1},
            "items": [{"product_id": self.product, "quantity": 1}]}, self.customer)["id"]

    def cancel(self, order_id):
        return api(self.port, "POST", f"/api/v1/orders/{order_id}/cancel", {}, self.customer)


class Stream:
    """One SSE connection; records when each status event arrived."""

    def __init__(self, port, order_id, token):
        self.port, self.order_id, self.token = port, order_id, token
        self.events = []          # (status, monotonic time)
        self.keepalives = 0
        self.closed = False
        self.first = asyncio.get_event_loop().create_future()
        self.task = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write((f"GET /api/v1/orders/{self.order_id}/events HTTP/1.1\r\nHost: {HOST}\r\n"
                           f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        await self.writer.drain()
        status = await self.reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(status)
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                if line.startswith(b": keepalive"):
                    self.keepalives += 1
                elif line.startswith(b"data: "):
                    status = json.loads(line[6:])["status"]
                    self.events.append((status, time.monotonic()))
                    if not self.first.done():
                        self.first.set_result(True)
                elif line == b"0\r\n":
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        self.closed = True

    def close(self):
        if self.task:
            self.task.cancel()
        self.writer.close()


def rss_and_threads(pid):
    info = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k] = v.strip()
    return int(info["VmRSS"].split()[0]) // 1024, int(info["Threads"])


async def open_streams(world, orders, per_order):
    streams = [Stream(world.port, o, world.customer) for o in orders for _ in range(per_order)]
    sem = asyncio.Semaphore(500)

    async def one(s):
        async with sem:
            await s.open()
            await asyncio.wait_for(s.first, 30)

    start = time.monotonic()
    await asyncio.gather(*(one(s) for s in streams))
    return streams, time.monotonic() - start


async def capacity(world, n, hold, pid):
    orders = [world.place() for _ in range(n // 10)]
    rss_before, _ = rss_and_threads(pid)
    streams, took = await open_streams(world, orders, 10)
    await asyncio.sleep(hold)
    open_after = sum(1 for s in streams if not s.closed)
    with_keepalive = sum(1 for s in streams if s.keepalives > 0)
    rss, threads = rss_and_threads(pid)
    # The server still answers while holding them.
    t = time.monotonic()
    api(world.port, "GET", "/health")
    health_ms = (time.monotonic() - t) * 1000
    for s in streams:
        s.close()
    return {"streams": len(streams), "opened_in_s": round(took, 2), "held_s": hold,
            "open_after_hold": open_after, "got_keepalives": with_keepalive,
            "server_rss_mib": rss, "server_rss_mib_before": rss_before, "server_threads": threads,
            "health_ms_while_holding": round(health_ms, 2)}


async def delays(world, n_orders, per_order):
    orders = [world.place() for _ in range(n_orders)]
    streams, _ = await open_streams(world, orders, per_order)
    by_order = {}
    for s in streams:
        by_order.setdefault(s.order_id, []).append(s)
    from_request, from_response = [], []
    loop = asyncio.get_event_loop()
    for o in orders:
        sent = time.monotonic()
        await loop.run_in_executor(None, world.cancel, o)
        answered = time.monotonic()
        for s in by_order[o]:
            while not any(st == "cancelled" for st, _ in s.events):
                await asyncio.sleep(0.0002)
            at = next(t for st, t in s.events if st == "cancelled")
            from_request.append((at - sent) * 1000)
            from_response.append((at - answered) * 1000)
    for s in streams:
        s.close()
    return from_request, from_response


def summary(pair):
    req, resp = sorted(pair[0]), sorted(pair[1])
    pick = lambda xs, q: round(xs[min(len(xs) - 1, int(len(xs) * q))], 3)
    return {"events": len(req),
            "cancel_sent_to_event_p50_ms": pick(req, 0.5), "p99_ms": pick(req, 0.99), "max_ms": round(req[-1], 3),
            "cancel_200_to_event_p50_ms": pick(resp, 0.5), "cancel_200_to_event_p99_ms": pick(resp, 0.99),
            "events_before_the_200": sum(1 for x in resp if x < 0)}


async def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    world = World(port)
    result = {}
    ref = await delays(world, 30, 1)
    result["reference_1_stream"] = summary(ref)
    loaded = await delays(world, int(args.get("--latency", 1000)) // 10, 10)
    result["at_1000_streams"] = summary(loaded)
    result["ratio_p50_1000_streams_vs_1"] = round(result["at_1000_streams"]["cancel_sent_to_event_p50_ms"] /
                                                  result["reference_1_stream"]["cancel_sent_to_event_p50_ms"], 2)
    result["ratio_p99_1000_streams_vs_1"] = round(result["at_1000_streams"]["p99_ms"] /
                                                  result["reference_1_stream"]["p99_ms"], 2)
    fan = await delays(world, 1, int(args.get("--latency", 1000)))
    result["fan_out_1000_streams_one_order"] = summary(fan)
    result["capacity"] = await capacity(world, int(args.get("--capacity", 10000)), float(args.get("--hold", 20)), pid)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":  # scripts/bench imports the helpers above
    asyncio.run(main())
