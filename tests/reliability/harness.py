"""Shared pieces of the reliability suite: databases, the server process, an HTTP client that
never hides a failure, a world of shops/customers/crews, and result reporting.

Standard library only. Every test creates its own database (CREATE DATABASE on the cluster of
WASSALLY_TEST_DATABASE_URL, or on a private cluster) and starts WASSALLY_BINARY itself on a free
loopback port. Only processes started here are ever signalled, by PID.
"""

import http.client
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STAFF_USER = "rel.staff"
STAFF_PASSWORD = "staff-password-1"
PASSWORD = "password-123"


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def env_or_die(name):
    v = os.environ.get(name)
    if not v:
        sys.exit(f"{name} is not set: run via ./scripts/test or scripts/soak")
    return v


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def with_database(url, name):
    p = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def psql(url, sql, timeout=60):
    """Runs sql; returns the rows as lists of strings (NULL is '')."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-F", "\x1f", "-d", url, "-c", sql],
        capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed ({out.returncode}): {out.stderr.strip()}\n{sql}")
    return [line.split("\x1f") for line in out.stdout.splitlines() if line != ""]


def scalar(url, sql):
    rows = psql(url, sql)
    return rows[0][0] if rows else None


def server_backends(db_url):
    """PIDs of the server's connections to its database (processes of the test's own cluster).
    The test's own psql sessions (application_name psql) are never the server's."""
    rows = psql(db_url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                        " AND application_name <> 'psql'")
    return [int(r[0]) for r in rows]


class BackendStall:
    """Stops (SIGSTOP) every backend of the server on `db_url`, also those it opens while the
    stall lasts (one opened meanwhile would otherwise serve the writes at once), until stop()
    ends the stopping; resume() continues (SIGCONT) every backend stopped. start() returns once
    at least one backend is stopped."""

    def __init__(self, db_url):
        self.db_url = db_url
        self.stopped = set()
        self._stalling = threading.Event()
        self._thread = None

    def _run(self):
        while self._stalling.is_set():
            for pid in server_backends(self.db_url):
                if pid not in self.stopped:
                    os.kill(pid, signal.SIGSTOP)
                    self.stopped.add(pid)
            time.sleep(0.02)

    def start(self):
        self._stalling.set()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        while not self.stopped and self._thread.is_alive():
            time.sleep(0.01)
        return self

    def stop(self):
        """No more backends are stopped; those stopped stay so until resume()."""
        self._stalling.clear()
        if self._thread:
            self._thread.join()

    def resume(self):
        self.stop()
        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


class TcpProxy:
    """A loopback TCP proxy the test starts in front of PostgreSQL (or anything): pause() stops
    forwarding in both directions — connections stay open, bytes wait in the kernel's buffers, as
    when a network path stalls — and resume() lets them through again."""

    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                self.flowing.wait()
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready:
                    continue
                if not self.flowing.is_set():
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pause(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def close(self):
        self.closed = True
        self.flowing.set()
        self.listener.close()


class NatsServer:
    """A nats-server of the test's own on a loopback port (cluster routing); kill() is kill -9,
    start() again comes back on the same port."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout=10):
        self.proc = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nats-server exited ({self.proc.returncode})")
                time.sleep(0.05)
        raise RuntimeError("nats-server did not listen")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()


def create_database(admin_url, prefix):
    name = f"rel_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}".lower()
    psql(admin_url, f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


class PrivateCluster:
    """A PostgreSQL cluster of our own (scripts/lib/pg.sh), for faults that stop the server."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wassally-rel-pg.")
        self.port = free_port()
        self._sh("pg_ensure_cluster \"$1\"", self.dir)
        self.start()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _sh(self, cmd, *args):
        script = f"source {REPO}/scripts/lib/pg.sh; {cmd}"
        r = subprocess.run(["bash", "-c", script, "pg"] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{cmd}: {r.stdout}{r.stderr}")

    def start(self):
        self._sh("pg_start \"$1\" \"$2\"", self.dir, self.port)

    def stop(self):
        self._sh("pg_stop \"$1\"", self.dir)

    def restart(self):
        self._sh("pg_bin=$(pg_bindir); pg_as_owner \"$pg_bin/pg_ctl\" -D \"$1/data\" -m fast -w "
                 "restart >/dev/null", self.dir)

    def destroy(self):
        try:
            self.stop()
        finally:
            subprocess.run(["rm", "-rf", self.dir])


# ---------------------------------------------------------------------------------------------
# The server under test


class Server:
    def __init__(self, database_url, env=None, port=None):
        self.database_url = database_url
        self.port = port or free_port()
        self.var_dir = tempfile.mkdtemp(prefix="wassally-rel-var.")
        self.log_path = os.path.join(self.var_dir, "server.log")
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url,
            "WASSALLY_HOST": "127.0.0.1",
            "WASSALLY_PORT": str(self.port),
            "WASSALLY_VAR_DIR": self.var_dir,
            "WASSALLY_PASSWORD_OPS_LIMIT": "1",
            "WASSALLY_PASSWORD_MEM_LIMIT_KIB": "8",
            "WASSALLY_LOGIN_MAX_FAILURES": "1000000",
            "WASSALLY_ACCESS_TTL_S": "86400",
            "WASSALLY_BOOTSTRAP_STAFF": f"{STAFF_USER}:{STAFF_PASSWORD}",
        })
        self.env.update(env or {})
        self.proc = None
        self.starts = 0

    def start(self, timeout=60):
        binary = env_or_die("WASSALLY_BINARY")
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary, "serve"], env=self.env, stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        self.starts += 1
        self.wait_ready(timeout)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited during start-up ({self.proc.returncode}):\n"
                                   + self.log_tail())
            if self.ready_status(1.0) == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("server did not become ready:\n" + self.log_tail())

    def ready_status(self, timeout=2.0):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            c.request("GET", "/ready")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status
        except (OSError, http.client.HTTPException):
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL our own child, by PID, and reap it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def terminate(self, timeout=30):
        """SIGTERM; returns (exit code or None if it had to be killed, seconds taken)."""
        started = time.time()
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.time() - started

    def stop(self):
        if self.alive():
            self.terminate()

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        subprocess.run(["rm", "-rf", self.var_dir])


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    __slots__ = ("status", "body", "error", "elapsed", "started", "raw")

    def __init__(self, status, body, error, elapsed, started, raw=b""):
        self.status, self.body, self.error = status, body, error
        self.elapsed, self.started, self.raw = elapsed, started, raw

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def code(self):
        try:
            return self.body["error"]["code"]
        except (TypeError, KeyError):
            return None

    def __repr__(self):
        return f"<{self.status} {self.error or ''} {self.raw[:300]!r}>"


class Client:
    """One keep-alive connection (per thread: create one per thread). A transport failure is
    returned as status None with the error, never retried here."""

    def __init__(self, port, timeout=10.0, token=None):
        self.port, self.timeout, self.token = port, timeout, token
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, token=None):
        h = {"Accept": "application/json"}
        tok = token or self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        started = time.time()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            raw = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return Response(None, None, f"{type(e).__name__}: {e}", time.time() - started, started)
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return Response(r.status, parsed, None, time.time() - started, started, raw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, {} if body is None else body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class SseReader:
    """Reads a Server-Sent Events stream on a thread of its own: `events` collects
    {event, data (parsed JSON), id} as they come."""

    def __init__(self, port, path, token, timeout=30):
        self.events = []
        self.lock = threading.Lock()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {token}",
                                                "Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        event = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    return
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if "data" in event:
                        try:
                            event["data"] = json.loads(event["data"])
                        except ValueError:
                            pass
                        with self.lock:
                            self.events.append(event)
                    event = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(":")
                    event[key] = value[1:] if value.startswith(" ") else value
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return  # closed (close() races the read: http.client may find its file gone)

    def wait_for(self, predicate, timeout):
        """The first event that satisfies predicate(event) within timeout seconds, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for e in self.events:
                    if predicate(e):
                        return e
            time.sleep(0.02)
        return None

    def close(self):
        try:
            self.conn.sock and self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def concurrently(fns):
    """Runs the callables at the same moment (a barrier), returns their results in order."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i, f):
        barrier.wait()
        out[i] = f()

    ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def must(r, *statuses):
    if r.status not in statuses:
        raise AssertionError(f"expected {statuses}, got {r!r}")
    return r.body


# ---------------------------------------------------------------------------------------------
# A world: staff, shops with products, customers, crews


class World:
    _seq = 0
    _lock = threading.Lock()

    def __init__(self, port):
        self.port = port
        self.c = Client(port, timeout=30)
        self.staff = self.login(STAFF_USER, STAFF_PASSWORD)
        self.category = must(self.c.post("/api/v1/shop-categories",
                                         {"name": "Cat " + self.unique()}, token=self.staff),
                             201)["id"]

    @classmethod
    def unique(cls):
        with cls._lock:
            cls._seq += 1
            return f"{os.getpid() % 100000}x{cls._seq}x{random.randint(0, 9999)}"

    @staticmethod
    def phone():
        return "+2" + str(random.randint(10 ** 10, 10 ** 11 - 1))

    def login(self, user, password=PASSWORD):
        return must(self.c.post("/api/v1/auth/login", {"username": user, "password": password}),
                    200)["access"]

    def shop(self, lat=30.05, lng=31.23):
        owner = "owner" + self.unique()
        body = must(self.c.post("/api/v1/shops", {
            "name": "Shop " + owner, "description": "", "phone_number": self.phone(),
            "category_id": self.category,
            "location": {"address": "1 Nile St", "latitude": lat, "longitude": lng},
            "owner": {"username": owner, "password": PASSWORD, "phone_number": self.phone()}},
            token=self.staff), 201)
        return {"id": body["id"], "owner": self.login(owner), "owner_name": owner}

    def product(self, shop, stock, price="10.00"):
        body = must(self.c.post(f"/api/v1/shops/{shop['id']}/products",
                                {"name": "P" + self.unique(), "price": price, "stock": stock},
                                token=shop["owner"]), 201)
        return body["id"]

    @staticmethod
    def _account(name, home):
        body = {"username": name, "password": PASSWORD, "phone_number": World.phone()}
        if home is not None:  # cluster mode: the id is zoned there (CLUSTER.md "Shard key")
            body["home_location"] = {"latitude": home[0], "longitude": home[1]}
        return body

    def customer(self, home=None):
        name = "cust" + self.unique()
        body = must(self.c.post("/api/v1/auth/register", self._account(name, home)), 201)
        return {"id": body["id"], "name": name, "token": self.login(name)}

    def shops_in_every_shard(self, shards, lat=30.05, lng=31.23, step=0.001):
        """One shop per shard, in shard order. With zoned ids a shop's shard is its zone's: the
        shops are made `step` degrees apart going north from (lat, lng), one zone each when the
        nodes' cluster_zone_deg is `step`, until every shard has one."""
        found = {}
        k = 0
        while len(found) < shards:
            if k > 40 * shards:
                raise AssertionError(f"{k} shops cover only shards {sorted(found)}")
            s = self.shop(lat + step * k + step / 2, lng)
            found.setdefault(s["id"] % shards, s)
            k += 1
        return [found[i] for i in range(shards)]

    def crew(self, lat=30.05, lng=31.23, home=None):
        name = "crew" + self.unique()
        body = must(self.c.post("/api/v1/staff/crews", self._account(name, home),
                                token=self.staff), 201)
        tok = self.login(name)
        must(self.c.put("/api/v1/crew/status", {"status": "available"}, token=tok), 200)
        must(self.c.put("/api/v1/crew/location", {"latitude": lat, "longitude": lng}, token=tok),
             204)
        return {"id": body["id"], "name": name, "token": tok, "lat": lat, "lng": lng}


def order_body(items):
    return {"receiver_name": "Mona", "receiver_phone": "+201001234567",
            "location": {"address": "2 Nile St", "latitude": 30.06, "longitude": 31.24},
            "items": [{"product_id": p, "quantity": q} for p, q in items]}



# ---------------------------------------------------------------------------------------------
# Cluster mode (cluster_test.py, cluster_routing_test.py)


class LoadThreads:
    """A load generator's threads: `work(part)` on a thread per part, until finish()."""

    def __init__(self, work, parts):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=work, args=(p,)) for p in parts]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def leases(db):
    """shard -> (node or '', epoch, unexpired) as PostgreSQL holds them."""
    return {int(r[0]): (r[1], int(r[2]), r[3] == "t") for r in psql(
        db, "SELECT shard, coalesce(node, ''), epoch, coalesce(expires_at > now(), false)"
            " FROM shard_lease ORDER BY shard")}


def held_by(db, node):
    """The shards `node` holds, unexpired, as PostgreSQL says."""
    return sorted(s for s, (n, _, live) in leases(db).items() if n == node and live)


def wait_until(what, predicate, timeout):
    """Seconds it took for predicate() to hold; raises after timeout."""
    started = time.time()
    while time.time() - started < timeout:
        if predicate():
            return time.time() - started
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout:.1f} s: {what}")


def shop_name(db, shop_id):
    return psql(db, f"SELECT name FROM shops WHERE id = {int(shop_id)}")[0][0]


def renames_lost(db, shops, acked):
    """(shop, last acknowledged n, name PostgreSQL has) for every shop whose last acknowledged
    rename `w<shop>-<n>` PostgreSQL does not hold (a later one is fine)."""
    lost = []
    for s in shops:
        last = acked.get(s["id"], 0)
        name = shop_name(db, s["id"])
        held = int(name.rsplit("-", 1)[1]) if name.startswith(f"w{s['id']}-") else 0
        if held < last:
            lost.append((s["id"], last, name))
    return lost

# ---------------------------------------------------------------------------------------------
# Results


def report(name, ok, figures, problems=()):
    """Prints the figures as one machine-readable line (scripts/soak collects them)."""
    for p in list(problems)[:30]:
        log("PROBLEM:", p)
    figures = dict(figures)
    figures["test"] = name
    figures["ok"] = bool(ok)
    print("RELIABILITY-RESULT " + json.dumps(figures, sort_keys=True), flush=True)
    log(f"{name}: {'PASS' if ok else 'FAIL'} " +
        " ".join(f"{k}={v}" for k, v in sorted(figures.items()) if k not in ("test", "ok")))
    return 0 if ok else 1


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def run_main(name, main):
    """Runs a test's main(); an exception is a failure with a result line, never a skip."""
    try:
        return main()
    except Exception:
        import traceback
        traceback.print_exc()
        return report(name, False, {}, ["the test aborted with an exception (above)"])
