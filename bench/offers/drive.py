#!/usr/bin/env python3
"""Offers against browsing: 200 simulated crews, orders placed at a fixed rate (stdlib only).

  drive.py seed PORT WORLD.json [--crews 200] [--shops 50] [--customers 5] [--seed 1]
      Creates (through the API) the shops around (30.05, 31.23), one unlimited product each, the
      customers and the crews (POST /staff/crews), and writes what it made, with every crew's
      position, to WORLD.json. Run once, against the database the two runs are copied from.

  drive.py run PORT WORLD.json --mode offer|browse [--duration 60] [--rate 2] [--warmup 8]
               [--drain 60] [--radius 15] [--poll 5] [--seed 1]
      Logs every crew in, makes it available at its position, then places orders open-loop
      (one every 1/rate s for `duration` s, whatever the answers) and measures, for every order
      placed after `warmup` s, the time from its 201 to the 200 of the accept that took it.
      offer:  each crew holds GET /crew/events open; on `event: offer` it waits uniform(1, 10) s
              and accepts (unless an `offer_withdrawn` came meanwhile).
      browse: each crew polls GET /crew/orders/pending?radius_km=RADIUS every POLL s (phases
              staggered), takes the nearest order, waits uniform(1, 10) s and accepts; a 409
              sends it back to polling.
      Side checks of the offer paths (not part of the figure): --decline P / --ignore P make a
      crew decline, or let expire, that share of its offers instead of accepting.
      Either way a crew that got an order delivers it a few seconds later (items bought, pickup,
      deliver with the code from the customer's 201), so crews cycle. After the placements it
      waits up to `drain` s for every placed order to be assigned. Prints one JSON object.
Loopback only.
"""
import argparse
import asyncio
import concurrent.futures
import json
import math
import os
import random
import sys
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"
CENTER = (30.05, 31.23)
HALF_KM = 5.0  # the area is a ~10 km square around CENTER
DELAY = (1.0, 10.0)  # a crew's reaction time before accepting, both modes
DELIVER_AFTER = (3.0, 8.0)  # accept → bought + pickup
HANDOVER_AFTER = (1.0, 3.0)  # pickup → deliver


def random_point(rng):
    dlat = HALF_KM / 111.0
    dlng = HALF_KM / (111.0 * math.cos(math.radians(CENTER[0])))
    return (round(CENTER[0] + rng.uniform(-dlat, dlat), 6), round(CENTER[1] + rng.uniform(-dlng, dlng), 6))


# ---------------------------------------------------------------- blocking client (seeding, logins)

# The events bench's blocking client (bench/events/sse_load.py, written to be imported).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events"))
from sse_load import api, login  # noqa: E402


def seed(args):
    rng = random.Random(args.seed)
    port = args.port
    staff = login(port, "bench.staff", "bench-staff-1")
    cat = api(port, "POST", "/api/v1/shop-categories", {"name": "offers bench"}, staff)["id"]

    def make_shop(i):
        lat, lng = shop_points[i]
        shop = api(port, "POST", "/api/v1/shops", {
            "name": f"Offers bench {i}", "phone_number": f"+2010{1000000 + i}", "category_id": cat,
            "location": {"address": f"shop {i}", "latitude": lat, "longitude": lng},
            "owner": {"username": f"offers.owner{i}", "password": "owner-pass-1",
                      "phone_number": f"+2011{1000000 + i}"}}, staff)["id"]
        owner = login(port, f"offers.owner{i}", "owner-pass-1")
        product = api(port, "POST", f"/api/v1/shops/{shop}/products",
                      {"name": "Item", "price": "10.00", "is_unlimited": True}, owner)["id"]
        return {"shop_id": shop, "product_id": product, "latitude": lat, "longitude": lng}

    def make_crew(i):
        api(port, "POST", "/api/v1/staff/crews", {"username": f"offers.crew{i}", "password": "crew-pass-1",
                                                  "phone_number": f"+2012{1000000 + i}"}, staff)
        lat, lng = crew_points[i]
        return {"username": f"offers.crew{i}", "password": "crew-pass-1", "latitude": lat, "longitude": lng}

    def make_customer(i):
        api(port, "POST", "/api/v1/auth/register", {"username": f"offers.customer{i}", "password": "password-1",
                                                    "phone_number": f"+2013{1000000 + i}"})
        return {"username": f"offers.customer{i}", "password": "password-1"}

    shop_points = [random_point(rng) for _ in range(args.shops)]
    crew_points = [random_point(rng) for _ in range(args.crews)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        shops = list(pool.map(make_shop, range(args.shops)))
        crews = list(pool.map(make_crew, range(args.crews)))
        customers = list(pool.map(make_customer, range(args.customers)))
    with open(args.world, "w") as f:
        json.dump({"shops": shops, "crews": crews, "customers": customers}, f)
    print(f"seeded {len(shops)} shops, {len(crews)} crews, {len(customers)} customers")


# ---------------------------------------------------------------- asyncio HTTP/1.1 client

class Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer


async def read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return body
            body += await reader.readexactly(size)
            await reader.readline()
    n = int(headers.get("content-length", "0"))
    return await reader.readexactly(n) if n else b""


class Client:
    """Keep-alive connections of one user (a small pool: a crew may deliver while it polls)."""

    def __init__(self, port, token, stats):
        self.port, self.token, self.stats = port, token, stats
        self.idle = []

    async def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        elif method in ("POST", "PUT"):
            head += "Content-Length: 0\r\n"
        request = head.encode() + b"\r\n" + data
        for attempt in range(2):
            conn = self.idle.pop() if self.idle else None
            fresh = conn is None
            if fresh:
                r, w = await asyncio.open_connection(HOST, self.port)
                conn = Conn(r, w)
            try:
                conn.writer.write(request)
                await conn.writer.drain()
                status, headers = await asyncio.wait_for(read_response(conn.reader), 30)
                raw = await asyncio.wait_for(read_body(conn.reader, headers), 30)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                conn.writer.close()
                if fresh or attempt == 1:
                    raise
                continue  # a kept-alive connection the server had closed: once more on a new one
            if headers.get("connection", "").lower() == "close":
                conn.writer.close()
            else:
                self.idle.append(conn)
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
            self.stats.note(method, path, status, payload)
            return status, payload


class Stats:
    def __init__(self):
        self.by_status = {}
        self.failures = []  # 5xx and unexpected answers: (t, method, path, status, body)
        self.t0 = time.monotonic()

    def note(self, method, path, status, payload):
        route = path.split("?")[0]
        route = "/".join("{id}" if p.isdigit() else p for p in route.split("/"))
        key = f"{method} {route} {status}"
        self.by_status[key] = self.by_status.get(key, 0) + 1
        if status >= 500 and len(self.failures) < 50:
            self.failures.append({"t_s": round(time.monotonic() - self.t0, 3), "request": f"{method} {path}",
                                  "status": status, "body": payload})


# ---------------------------------------------------------------- the simulation

class Sim:
    def __init__(self, args, world):
        self.args, self.world = args, world
        self.rng = random.Random(args.seed * 7919 + (1 if args.mode == "offer" else 2))
        self.stats = Stats()
        self.placed = {}      # order_id → {t, code, items, customer, measured}
        self.assigned = {}    # order_id → (t, crew index, distance_km)
        self.place_errors = {}
        self.accept_409 = {}
        self.first_seen = {}  # order_id → when a crew first saw it (offer event, or a pending page)
        self.withdrawn = {}
        self.offers_seen = 0
        self.declines = {}
        self.ignored = 0
        self.polls = 0
        self.polls_empty = 0
        self.delivered = 0
        self.delivery_errors = 0
        self.sse_reconnects = 0
        self.running = True
        self.placing_done = False

    # placements --------------------------------------------------------------
    async def place(self, k, measured):
        cust = self.rng.choice(self.customers)
        shops = self.rng.sample(self.world["shops"], self.rng.randint(1, 3))
        lat, lng = random_point(self.rng)
        body = {"receiver_name": "R", "receiver_phone": "+201230000009",
                "location": {"address": "x", "latitude": lat, "longitude": lng},
                "items": [{"product_id": s["product_id"], "quantity": 1} for s in shops]}
        try:
            status, order = await cust.call("POST", "/api/v1/orders", body)
        except Exception as e:  # noqa: BLE001 - counted, the schedule goes on
            self.place_errors[type(e).__name__] = self.place_errors.get(type(e).__name__, 0) + 1
            return
        t = time.monotonic()
        if status != 201:
            self.place_errors[str(status)] = self.place_errors.get(str(status), 0) + 1
            return
        code = order.get("code")
        if not code:  # the customer sees it in GET /orders/{id}
            _, full = await cust.call("GET", f"/api/v1/orders/{order['id']}")
            code = full.get("code")
        self.placed[order["id"]] = {"t": t, "code": code, "measured": measured,
                                    "items": [i["id"] for i in order.get("items", [])]}

    async def schedule(self):
        a = self.args
        n = int(a.duration * a.rate)
        start = time.monotonic()
        tasks = []
        for k in range(n):
            at = start + k / a.rate
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            tasks.append(asyncio.ensure_future(self.place(k, k / a.rate >= a.warmup)))
        await asyncio.sleep(max(0.0, start + a.duration - time.monotonic()))
        await asyncio.gather(*tasks)
        self.placing_done = True

    # a crew's work once it holds an order -------------------------------------
    async def deliver(self, crew, order):
        oid = order["id"]
        try:
            await asyncio.sleep(self.rng.uniform(*DELIVER_AFTER))
            for item in order.get("items", []):
                await crew["client"].call("POST", f"/api/v1/orders/{oid}/items/{item['id']}/bought")
            await crew["client"].call("POST", f"/api/v1/orders/{oid}/pickup")
            await asyncio.sleep(self.rng.uniform(*HANDOVER_AFTER))
            code = self.placed.get(oid, {}).get("code")
            status, _ = await crew["client"].call("POST", f"/api/v1/orders/{oid}/deliver", {"code": code})
            if status == 200:
                self.delivered += 1
            else:
                self.delivery_errors += 1
        except Exception:  # noqa: BLE001
            self.delivery_errors += 1
        finally:
            crew["held"] -= 1

    async def accept(self, crew, oid, distance):
        status, body = await crew["client"].call("POST", f"/api/v1/orders/{oid}/accept")
        if status == 200:
            t = time.monotonic()
            if oid in self.assigned:
                self.stats.failures.append({"request": f"POST /api/v1/orders/{oid}/accept",
                                            "status": 200, "body": "second 200 for the same order"})
            self.assigned[oid] = (t, crew["i"], distance)
            crew["held"] += 1
            asyncio.ensure_future(self.deliver(crew, body))
            return True
        code = body.get("error", {}).get("code", str(status)) if isinstance(body, dict) else str(status)
        self.accept_409[code] = self.accept_409.get(code, 0) + 1
        return False

    # offer mode --------------------------------------------------------------
    async def offer_crew(self, crew):
        handling = set()
        gone = set()

        async def take(oid, distance):
            await asyncio.sleep(self.rng.uniform(*DELAY))
            if oid in gone:
                return
            roll = self.rng.random()
            if roll < self.args.decline:  # side check of the decline path (default: never)
                status, body = await crew["client"].call("POST", f"/api/v1/orders/{oid}/decline")
                key = "204" if status == 204 else (body.get("error", {}).get("code") if isinstance(body, dict) else str(status))
                self.declines[key] = self.declines.get(key, 0) + 1
                return
            if roll < self.args.decline + self.args.ignore:  # let it expire (default: never)
                self.ignored += 1
                return
            await self.accept(crew, oid, distance)

        while self.running:
            try:
                r, w = await asyncio.open_connection(HOST, self.args.port)
                w.write((f"GET /api/v1/crew/events HTTP/1.1\r\nHost: {HOST}\r\n"
                         f"Authorization: Bearer {crew['client'].token}\r\nAccept: text/event-stream\r\n\r\n").encode())
                await w.drain()
                status, headers = await read_response(r)
                if status != 200:
                    raise ConnectionError(f"crew events: {status}")
                crew["sse_ready"].set()
                chunked = headers.get("transfer-encoding", "").lower() == "chunked"
                buf = b""
                while self.running:
                    if chunked:
                        size = int((await r.readline()).strip().split(b";")[0] or b"0", 16)
                        if size == 0:
                            break
                        buf += await r.readexactly(size)
                        await r.readline()
                    else:
                        more = await r.read(65536)
                        if not more:
                            break
                        buf += more
                    while b"\n\n" in buf:
                        block, buf = buf.split(b"\n\n", 1)
                        name, data = "message", None
                        for line in block.split(b"\n"):
                            if line.startswith(b"event: "):
                                name = line[7:].decode()
                            elif line.startswith(b"data: "):
                                data = json.loads(line[6:])
                        if data is None:
                            continue
                        oid = data.get("order_id")
                        if name == "offer":
                            self.offers_seen += 1
                            self.first_seen.setdefault(oid, time.monotonic())
                            if oid not in handling:
                                handling.add(oid)
                                asyncio.ensure_future(take(oid, data.get("distance_km")))
                        elif name == "offer_withdrawn":
                            gone.add(oid)
                            reason = data.get("reason", "?")
                            self.withdrawn[reason] = self.withdrawn.get(reason, 0) + 1
                w.close()
            except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError):
                pass
            if self.running:
                self.sse_reconnects += 1
                await asyncio.sleep(0.5)

    # browse mode -------------------------------------------------------------
    async def browse_crew(self, crew):
        a = self.args
        phase = self.rng.uniform(0, a.poll)
        start = time.monotonic() + phase
        await asyncio.sleep(phase)
        while self.running:
            if crew["held"] < 3:
                self.polls += 1
                status, page = await crew["client"].call(
                    "GET", f"/api/v1/crew/orders/pending?radius_km={a.radius:g}&page_size=20")
                results = page.get("results", []) if status == 200 and isinstance(page, dict) else []
                seen = time.monotonic()
                for o in results:
                    self.first_seen.setdefault(o["id"], seen)
                if results:
                    nearest = min(results, key=lambda o: o.get("distance_km", 0))
                    await asyncio.sleep(self.rng.uniform(*DELAY))
                    await self.accept(crew, nearest["id"], nearest.get("distance_km"))
                else:
                    self.polls_empty += 1
            # back to the crew's own 5 s cadence
            now = time.monotonic()
            ticks = math.floor((now - start) / a.poll) + 1
            await asyncio.sleep(max(0.0, start + ticks * a.poll - now))

    # the run -----------------------------------------------------------------
    async def run(self):
        a = self.args
        loop = asyncio.get_event_loop()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            ctoks = await asyncio.gather(*(loop.run_in_executor(pool, login, a.port, c["username"], c["password"])
                                           for c in self.world["customers"]))
            rtoks = await asyncio.gather(*(loop.run_in_executor(pool, login, a.port, c["username"], c["password"])
                                           for c in self.world["crews"]))
        self.customers = [Client(a.port, t, self.stats) for t in ctoks]
        self.crews = [{"i": i, "client": Client(a.port, t, self.stats), "held": 0, "sse_ready": asyncio.Event(),
                       **c} for i, (t, c) in enumerate(zip(rtoks, self.world["crews"]))]
        sem = asyncio.Semaphore(16)

        async def ready(c):
            async with sem:
                s1, _ = await c["client"].call("PUT", "/api/v1/crew/location",
                                               {"latitude": c["latitude"], "longitude": c["longitude"]})
                s2, _ = await c["client"].call("PUT", "/api/v1/crew/status", {"status": "available"})
                if (s1, s2) != (204, 200):
                    raise RuntimeError(f"crew {c['username']}: location {s1}, status {s2}")

        await asyncio.gather(*(ready(c) for c in self.crews))
        workers = []
        if a.mode == "offer":
            workers = [asyncio.ensure_future(self.offer_crew(c)) for c in self.crews]
            await asyncio.wait_for(asyncio.gather(*(c["sse_ready"].wait() for c in self.crews)), 60)
        else:
            workers = [asyncio.ensure_future(self.browse_crew(c)) for c in self.crews]
        t_start = time.monotonic()
        await self.schedule()
        drain_until = time.monotonic() + a.drain
        while time.monotonic() < drain_until and any(o not in self.assigned for o in self.placed):
            await asyncio.sleep(0.2)
        wall = time.monotonic() - t_start
        self.running = False
        for w in workers:
            w.cancel()
        await asyncio.sleep(0.1)
        return self.report(wall)

    def report(self, wall):
        measured = [o for o, p in self.placed.items() if p["measured"]]
        lat = sorted(self.assigned[o][0] - self.placed[o]["t"] for o in measured if o in self.assigned)
        dist = [self.assigned[o][2] for o in measured if o in self.assigned and self.assigned[o][2] is not None]

        seen = sorted(self.first_seen[o] - self.placed[o]["t"] for o in measured if o in self.first_seen)

        def pct(q, xs=lat):
            if not xs:
                return None
            return round(xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))], 3)

        return {
            "mode": self.args.mode, "wall_s": round(wall, 1),
            "placed": len(self.placed), "placement_errors": self.place_errors,
            "measured": len(measured), "measured_ids": [min(measured), max(measured)] if measured else None,
            "assigned": len(lat), "never_assigned": len(measured) - len(lat),
            "never_assigned_ids": sorted(o for o in measured if o not in self.assigned)[:20],
            "p50_s": pct(0.5), "p90_s": pct(0.9), "p99_s": pct(0.99), "max_s": round(lat[-1], 3) if lat else None,
            "mean_s": round(sum(lat) / len(lat), 3) if lat else None,
            "seen_by_a_crew_p50_s": pct(0.5, seen), "seen_by_a_crew_p99_s": pct(0.99, seen),
            "mean_distance_km": round(sum(dist) / len(dist), 3) if dist else None,
            "accept_refused": self.accept_409, "offers_seen": self.offers_seen, "offers_withdrawn": self.withdrawn,
            "declined": self.declines, "left_to_expire": self.ignored,
            "polls": self.polls, "polls_empty": self.polls_empty,
            "delivered": self.delivered, "delivery_errors": self.delivery_errors,
            "sse_reconnects": self.sse_reconnects,
            "responses": dict(sorted(self.stats.by_status.items())), "server_errors": self.stats.failures,
        }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["seed", "run"])
    p.add_argument("port", type=int)
    p.add_argument("world")
    p.add_argument("--crews", type=int, default=200)
    p.add_argument("--shops", type=int, default=50)
    p.add_argument("--customers", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", choices=["offer", "browse"])
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--rate", type=float, default=2)
    p.add_argument("--warmup", type=float, default=8)
    p.add_argument("--drain", type=float, default=60)
    p.add_argument("--radius", type=float, default=15)
    p.add_argument("--poll", type=float, default=5)
    p.add_argument("--decline", type=float, default=0, help="offer mode: share of offers declined instead of accepted")
    p.add_argument("--ignore", type=float, default=0, help="offer mode: share of offers left to expire")
    a = p.parse_args()
    if a.command == "seed":
        seed(a)
        return
    with open(a.world) as f:
        world = json.load(f)
    result = asyncio.run(Sim(a, world).run())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
