#!/usr/bin/env python3
"""HTTP chores and the scenarios wrk cannot drive, for scripts/bench (stdlib only, loopback).

  driver.py login     PORT USERS_FILE PASSWORD OUT [--concurrency N]
      logs every username of USERS_FILE in (POST /auth/login); OUT gets "user_id token" lines.
  driver.py online    PORT TOKENS LAT LNG
      every crew of TOKENS goes available at LAT,LNG (PUT /crew/status, PUT /crew/location).
  driver.py place     PORT TOKENS PRODUCTS N OUT [--concurrency N]
      places N orders (3 random items from up to 3 shops each) as the customers of TOKENS,
      several at once; OUT gets the order ids.
  driver.py race      PORT CREW_TOKENS RACE_IDS SERIAL_IDS OUT_JSON [--max-held 3]
      W3: every crew on its own keep-alive connection walks RACE_IDS ascending from a random
      offset (wrapping) and accepts each order it has not seen taken, until it holds MAX_HELD
      or every order is gone; then the reference: one connection accepts SERIAL_IDS one after
      another, each as a crew that still has room. OUT_JSON: figures and the winner of each order.
  driver.py check-winners RACE_JSON DB_FILE
      DB_FILE has "order_id crew_id" lines from the database; they must equal the winners the
      clients saw (exit 1 if not).
  driver.py activate  PORT TOKEN FIRST LAST [--concurrency N] [--deadline S]
      GET /api/v1/orders/{id} for every id in FIRST..LAST (activates the order actors); prints
      the seconds it took and the status counts as JSON. Nothing is sent after S seconds
      (default 300); a request unanswered for 30 s counts as "no_answer".
  driver.py openloop  PORT TOKENS PRODUCTS RATE SECONDS OUT_JSON
      W2 open-loop: POST /orders (3 random items, customers of TOKENS in turn) at a constant
      RATE per second for SECONDS, whatever the answers do: request i is due at start + i/RATE
      and is sent then on a free keep-alive connection, or on a new one when all are busy, so a
      slow answer never delays the next send (no coordinated omission). Latency is measured
      from the due time, so any lag of this generator counts against the server (and is
      reported: `send_lag_*`). OUT_JSON: percentiles, statuses, rate achieved.
  driver.py h2load-log LOG RATE RAMP_MS INTERVAL_MS OUT_JSON [--cpu SECONDS]
      W1 open-loop: percentiles of an h2load --log-file (start µs, status, µs to the end of the
      response) over the requests sent after the first and before the last RAMP_MS (connections
      opening and finishing), the rate asked and reached, and how many answers took longer than one
      connection's send interval (each of those may have held back that connection's next send);
      --cpu: h2load's own CPU time, reported per request.
"""
import asyncio
import json
import random
import re
import sys
import time

HOST = "127.0.0.1"


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def request(self, method, path, token=None, body=None):
        if self.writer is None:
            await self.open()
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n"
        self.writer.write(head.encode() + data)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            k, v = k.strip().lower(), v.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "transfer-encoding" and "chunked" in v:
                chunked = True
            elif k == "connection" and v == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            payload = b"".join(parts)
        else:
            payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def read_tokens(path):
    out = []
    with open(path) as f:
        for line in f:
            uid, token = line.split()
            out.append((int(uid), token))
    return out


def read_products(path):
    ranges = []
    with open(path) as f:
        for line in f:
            _shop, first, last = map(int, line.split())
            ranges.append((first, last))
    return ranges


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


async def pool(n, concurrency, work):
    """Runs work(conn, i) for i in 0..n-1 on `concurrency` keep-alive connections."""
    it = iter(range(n))

    async def worker(port_conn):
        for i in it:
            await work(port_conn, i)
        port_conn.close()

    await asyncio.gather(*(worker(c) for c in concurrency))


async def login(port, users_file, password, out, concurrency=4):
    users = [u.strip() for u in open(users_file) if u.strip()]
    tokens = [None] * len(users)
    done = 0

    async def work(conn, i):
        nonlocal done
        for attempt in range(5):
            status, body = await conn.request("POST", "/api/v1/auth/login", None,
                                              {"username": users[i], "password": password})
            if status == 200:
                j = json.loads(body)
                tokens[i] = (j["user"]["id"], j["access"])
                break
            if status in (503, 504):
                await asyncio.sleep(0.5)
                continue
            raise RuntimeError(f"login {users[i]}: {status} {body[:200]!r}")
        else:
            raise RuntimeError(f"login {users[i]}: gave up")
        done += 1
        if sys.stderr.isatty():
            sys.stderr.write(f"\r  logins {done}/{len(users)}")

    await pool(len(users), [Conn(port) for _ in range(concurrency)], work)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    with open(out, "w") as f:
        for uid, token in tokens:
            f.write(f"{uid} {token}\n")


async def online(port, tokens_file, lat, lng):
    tokens = read_tokens(tokens_file)

    async def work(conn, i):
        uid, token = tokens[i]
        s1, b1 = await conn.request("PUT", "/api/v1/crew/status", token, {"status": "available"})
        s2, b2 = await conn.request("PUT", "/api/v1/crew/location", token,
                                    {"latitude": lat + (i % 20) * 0.001, "longitude": lng})
        if s1 != 200 or s2 != 204:
            raise RuntimeError(f"crew {uid} online: {s1} {b1[:200]!r} / {s2} {b2[:200]!r}")

    await pool(len(tokens), [Conn(port) for _ in range(8)], work)


def order_body(ranges, rnd):
    picked = set()
    while len(picked) < 3:
        first, last = ranges[rnd.randrange(len(ranges))]
        picked.add(rnd.randint(first, last))
    return {"receiver_name": "Bench receiver", "receiver_phone": "+201000000000",
            "location": {"address": "Bench street", "latitude": 30.06, "longitude": 31.24},
            "items": [{"product_id": p, "quantity": 1} for p in sorted(picked)]}


async def place(port, tokens_file, products_file, n, out, concurrency=16):
    tokens = read_tokens(tokens_file)
    ranges = read_products(products_file)
    rnd = random.Random(7)
    ids = [None] * n

    async def work(conn, i):
        status, body = await conn.request("POST", "/api/v1/orders", tokens[i % len(tokens)][1],
                                          order_body(ranges, rnd))
        if status != 201:
            raise RuntimeError(f"placing an order: {status} {body[:300]!r}")
        ids[i] = json.loads(body)["id"]

    await pool(n, [Conn(port) for _ in range(concurrency)], work)
    with open(out, "w") as f:
        f.write("".join(f"{i}\n" for i in sorted(ids)))


async def race(port, crews_file, race_ids_file, serial_ids_file, out, max_held=3):
    crews = read_tokens(crews_file)
    race_ids = [int(x) for x in open(race_ids_file).read().split()]
    serial_ids = [int(x) for x in open(serial_ids_file).read().split()]
    rnd = random.Random(11)
    taken = set()                       # orders some client saw taken (won or 409)
    winners = {}                        # order → crew (as the clients saw it)
    held = {uid: 0 for uid, _ in crews}
    statuses, latencies, codes = {}, [], {}
    conns = [Conn(port) for _ in crews]
    await asyncio.gather(*(c.open() for c in conns))
    go = asyncio.Event()

    async def crew(conn, uid, token):
        await go.wait()
        start = rnd.randrange(len(race_ids))
        for k in range(len(race_ids)):
            if held[uid] >= max_held:
                break
            oid = race_ids[(start + k) % len(race_ids)]
            if oid in taken:
                continue
            t = time.perf_counter()
            status, body = await conn.request("POST", f"/api/v1/orders/{oid}/accept", token, {})
            latencies.append((time.perf_counter() - t) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                if oid in winners:
                    raise RuntimeError(f"order {oid} accepted twice: crews {winners[oid]} and {uid}")
                winners[oid] = uid
                held[uid] += 1
                taken.add(oid)
            elif status == 409:
                code = json.loads(body)["error"]["code"]
                codes[code] = codes.get(code, 0) + 1
                if code == "already_assigned":
                    taken.add(oid)
                elif code in ("crew_busy", "crew_offline"):
                    break
        conn.close()

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(crew(c, uid, tok)) for c, (uid, tok) in zip(conns, crews)]
    go.set()
    await asyncio.gather(*tasks)
    race_s = time.perf_counter() - t0
    race_won = len(winners)
    race_result = {
        "orders": len(race_ids), "crews": len(crews), "accepted": race_won, "seconds": race_s,
        "accepted_per_s": race_won / race_s, "attempts": len(latencies),
        "attempts_per_s": len(latencies) / race_s,
        "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99), "statuses": statuses,
        "conflicts": codes,
        "errors": sum(v for k, v in statuses.items() if k not in (200, 409)),
    }
    # Reference: the same accepts, one connection, one after another.
    room = [(uid, tok) for uid, tok in crews for _ in range(max_held - held[uid])]
    conn = Conn(port)
    await conn.open()
    lat2, st2 = [], {}
    t0 = time.perf_counter()
    for oid, (uid, tok) in zip(serial_ids, room):
        t = time.perf_counter()
        status, body = await conn.request("POST", f"/api/v1/orders/{oid}/accept", tok, {})
        lat2.append((time.perf_counter() - t) * 1000)
        st2[status] = st2.get(status, 0) + 1
        if status == 200:
            winners[oid] = uid
    serial_s = time.perf_counter() - t0
    conn.close()
    serial_won = st2.get(200, 0)
    serial_result = {
        "orders": min(len(serial_ids), len(room)), "accepted": serial_won, "seconds": serial_s,
        "accepted_per_s": serial_won / serial_s if serial_s else 0,
        "p50_ms": pct(lat2, 0.5), "p99_ms": pct(lat2, 0.99), "statuses": st2,
        "errors": sum(v for k, v in st2.items() if k != 200),
    }
    with open(out, "w") as f:
        json.dump({"race": race_result, "serial": serial_result,
                   "winners": {str(k): v for k, v in winners.items()}}, f)
    print(json.dumps({"race": race_result, "serial": serial_result}))


def check_winners(race_json, db_file):
    seen = {int(k): v for k, v in json.load(open(race_json))["winners"].items()}
    db = {}
    for line in open(db_file):
        if line.strip():
            oid, crew = line.split("|") if "|" in line else line.split()
            db[int(oid)] = int(crew)
    bad = [(o, seen.get(o), db.get(o)) for o in set(seen) | set(db) if seen.get(o) != db.get(o)]
    print(json.dumps({"orders_checked": len(db), "mismatches": bad[:10], "mismatch_count": len(bad)}))
    return 1 if bad else 0


async def activate(port, token, first, last, concurrency=32, deadline_s=300.0):
    ids = list(range(first, last + 1))
    statuses = {}
    t0 = time.perf_counter()

    async def work(conn, i):
        if time.perf_counter() - t0 > deadline_s:
            statuses["not_sent"] = statuses.get("not_sent", 0) + 1
            return
        try:
            status, _ = await asyncio.wait_for(conn.request("GET", f"/api/v1/orders/{ids[i]}", token), 30)
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            status = "no_answer"
            conn.close()
        statuses[status] = statuses.get(status, 0) + 1

    await pool(len(ids), [Conn(port) for _ in range(concurrency)], work)
    print(json.dumps({"seconds": time.perf_counter() - t0, "statuses": statuses,
                      "deadline_s": deadline_s}))


class OpenLoopConn(asyncio.Protocol):
    """One keep-alive connection of the open-loop generator: writes prebuilt request bytes and
    parses just enough of each answer (status, Content-Length) in data_received, timing it
    there; cheap, so the generator takes little of the CPU the server needs."""
    CL = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")

    def __init__(self, gen):
        self.gen, self.transport, self.buf, self.due, self.closed = gen, None, bytearray(), None, False

    def connection_made(self, transport):
        self.transport = transport

    def send(self, data, due):
        self.due = due
        self.transport.write(data)

    def data_received(self, data):
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        m = self.CL.search(self.buf, 0, end + 2)
        length = int(m.group(1)) if m else 0
        if len(self.buf) < end + 4 + length:
            return
        status = self.buf[9:12].decode()
        close = re.search(rb"(?i)\r\nconnection:\s*close", self.buf[:end + 2]) is not None
        del self.buf[:end + 4 + length]
        due, self.due = self.due, None
        self.gen.answered(self, status, due)
        if close:
            self.closed = True
            self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        if self.due is not None:
            due, self.due = self.due, None
            self.gen.answered(self, "error", due)


async def openloop(port, tokens_file, products_file, rate, seconds, out):
    import resource
    tokens = read_tokens(tokens_file)
    ranges = read_products(products_file)
    rnd = random.Random()
    n = int(rate * seconds)
    reqs = []  # every request's bytes, built before the clock starts
    for i in range(n):
        body = json.dumps(order_body(ranges, rnd)).encode()
        reqs.append((f"POST /api/v1/orders HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                     f"Authorization: Bearer {tokens[i % len(tokens)][1]}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                    + body)
    loop = asyncio.get_running_loop()

    class Gen:
        def __init__(self):
            self.idle, self.lat, self.lag, self.statuses, self.opened, self.done = [], [], [], {}, 0, 0
            self.due_at = []  # each answer's due time, beside its latency in lat
            self.finished = loop.create_future()

        def answered(self, conn, status, due):
            self.lat.append((loop.time() - due) * 1000)
            self.due_at.append(due)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if not conn.closed:
                self.idle.append(conn)
            self.done += 1
            if self.done == n and not self.finished.done():
                self.finished.set_result(None)

    gen = Gen()

    async def connect():
        gen.opened += 1
        _, conn = await loop.create_connection(lambda: OpenLoopConn(gen), HOST, port)
        return conn

    async def send_on_new(data, due):  # all connections busy: a new one, so no send waits
        try:
            conn = await connect()
        except OSError:
            gen.answered(OpenLoopConn(gen), "error", due)
            return
        gen.lag.append((loop.time() - due) * 1000)
        conn.send(data, due)

    gen.idle = list(await asyncio.gather(*(connect() for _ in range(int(rate * 0.05) + 16))))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = loop.time() + 0.05
    t0_unix = time.time() + (t0 - loop.time())  # to match the seconds with server / PG logs
    i = 0
    while i < n:
        now = loop.time()
        while i < n and t0 + i / rate <= now:
            due = t0 + i / rate
            while gen.idle and gen.idle[-1].closed:  # closed by the server while idle
                gen.idle.pop()
            if gen.idle:
                gen.lag.append((now - due) * 1000)
                gen.idle.pop().send(reqs[i], due)
            else:
                loop.create_task(send_on_new(reqs[i], due))
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
    sent_s = loop.time() - t0
    if n:
        await asyncio.wait_for(gen.finished, 60)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in gen.idle:
        c.transport.close()
    cpu_ms = ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) * 1000
    lat, lag = gen.lat, gen.lag
    result = {"rate_asked": rate, "requests": n, "rate_sent": n / sent_s if sent_s > 0 else 0,
              "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "p999_ms": pct(lat, 0.999),
              "max_ms": max(lat) if lat else None, "statuses": gen.statuses,
              "connections": gen.opened, "send_lag_p99_ms": pct(lag, 0.99),
              "send_lag_max_ms": max(lag) if lag else None,
              "generator_cpu_ms_per_request": cpu_ms / n if n else None}
    # The tail second by second (by due time): a stall shows as one bad second, a queue that
    # grows as seconds that get worse.
    by_second = {}
    for due, ms in zip(gen.due_at, lat):
        by_second.setdefault(int(due - t0), []).append(ms)
    result["t0_unix"] = t0_unix
    result["by_second"] = [[s, len(v), pct(v, 0.5), pct(v, 0.99), max(v)]
                           for s, v in sorted(by_second.items())]
    with open(out, "w") as f:
        json.dump(result, f)


def h2load_log(log, rate, ramp_ms, interval_ms, out, cpu_s=None):
    rows = []
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                rows.append((int(parts[0]), parts[1], int(parts[2]) / 1000.0))
    # Only the full-rate part: connections open during the first ramp_ms and finish during the
    # last ramp_ms.
    first, last = min(r[0] for r in rows), max(r[0] for r in rows)
    lo, hi = first + ramp_ms * 1000, last - ramp_ms * 1000
    lat, statuses, starts = [], {}, []
    for start, status, ms in rows:
        if lo <= start <= hi:
            starts.append(start)
            statuses[status] = statuses.get(status, 0) + 1
            lat.append(ms)
    span = (hi - lo) / 1e6
    result = {"rate_asked": rate, "requests": len(lat), "rate_sent": len(lat) / span if span else 0,
              "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "p999_ms": pct(lat, 0.999),
              "max_ms": max(lat) if lat else None, "statuses": statuses,
              "slower_than_interval": sum(1 for x in lat if x > interval_ms),
              "interval_ms": interval_ms,
              "generator_cpu_ms_per_request": cpu_s * 1000 / len(rows) if cpu_s and rows else None}
    with open(out, "w") as f:
        json.dump(result, f)


def main():
    args, opts = [], {}
    argv = sys.argv[1:]
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            opts[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    cmd, rest = args[0], args[1:]
    conc = int(opts.get("concurrency", 0)) or None
    if cmd == "login":
        asyncio.run(login(int(rest[0]), rest[1], rest[2], rest[3], conc or 4))
    elif cmd == "online":
        asyncio.run(online(int(rest[0]), rest[1], float(rest[2]), float(rest[3])))
    elif cmd == "place":
        asyncio.run(place(int(rest[0]), rest[1], rest[2], int(rest[3]), rest[4], conc or 16))
    elif cmd == "race":
        asyncio.run(race(int(rest[0]), rest[1], rest[2], rest[3], rest[4],
                         int(opts.get("max-held", 3))))
    elif cmd == "check-winners":
        sys.exit(check_winners(rest[0], rest[1]))
    elif cmd == "activate":
        asyncio.run(activate(int(rest[0]), rest[1], int(rest[2]), int(rest[3]), conc or 32,
                             float(opts.get("deadline", 300))))
    elif cmd == "h2load-log":
        h2load_log(rest[0], float(rest[1]), int(rest[2]), float(rest[3]), rest[4],
                   float(opts["cpu"]) if "cpu" in opts else None)
    elif cmd == "openloop":
        asyncio.run(openloop(int(rest[0]), rest[1], rest[2], float(rest[3]), float(rest[4]),
                             rest[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
