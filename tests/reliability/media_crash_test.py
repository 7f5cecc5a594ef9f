#!/usr/bin/env python3
"""Picture uploads under a crash: a crash between the files and the row loses nothing (API.md
"Images"; an upload writes its six renditions durably, and only then changes the row).

The server runs on a PostgreSQL cluster of the test's own, with a media directory of its own,
the media sweep every second and a grace of --grace seconds. A shop, its owner and a product are
made; the product gets a first picture (which also warms the shop actor, so that an upload needs
no database work before its files are written). Each of --rounds rounds:

1. Crash between files and row: the server's PostgreSQL backends are stopped (SIGSTOP, processes
   of our own cluster; those it opens meanwhile too) and a new picture (a PNG made here, unique
   per round) is uploaded in a thread. As soon as all six files of a new digest are in the media
   directory, the server is killed (SIGKILL), a `.tmp-*` file is left beside them (a write cut
   off by the crash), the backends go on (SIGCONT) and, once they have gone, the server is
   started again. Whether the row change committed late is logged (with this server it does
   not: a write's BEGIN is what waits on the stopped backend, so the UPDATE never reaches
   PostgreSQL; round 2 makes the other case). Either way: every digest a row of
   shops/shop_categories/products/offers names has its six files and GET /media serves each size
   in both formats; the product's `image`/`images` in the API equal what its row holds; the
   upload's digest, when no row names it, is gone from the disk within grace + a few seconds of
   the restart, while every named digest's files stay through sweeps past their grace; no
   `.tmp-*` file remains.
2. Crash during the commit: a deferred constraint trigger (installed for this round only) makes
   the row change's COMMIT wait on an advisory lock the test holds; once it waits, the server is
   killed and the lock let go: the transaction commits with its client gone. The same checks
   hold; now the new digest is named and kept, the picture it replaced is the orphan swept.
3. Crash after the row: an upload answered 200, then SIGKILL and a restart: the row names the
   digest, its six files are there and served, and after the grace (several sweeps) they still
   are; the digest it replaced, named by no row, is swept.

  media_crash_test.py [--rounds N] [--grace S]
"""

import argparse
import http.client
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_main  # noqa: E402
from harness import (BackendStall, Client, PrivateCluster, Response, Server,  # noqa: E402
                     World, create_database, log, must, psql, report, scalar, server_backends)

NAME = "media_crash"
SIZES = ("large", "medium", "thumb")
EXTS = ("webp", "jpg")
SWEEP_INTERVAL_S = 1
POOL, READ_POOL = 1, 1  # the server's database connections: all open before a stall


def png(width, height, colours, split):
    """A valid RGB PNG: the left `split` columns in colours[0], the rest in colours[1]."""
    left = bytes(colours[0]) * split
    right = bytes(colours[1]) * (width - split)
    raw = b"".join(b"\x00" + left + right for _ in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


_pictures = set()


def unique_picture():
    """A 300x200 two-colour PNG no earlier call of this run returned."""
    while True:
        colours = tuple(tuple(random.randint(0, 255) for _ in range(3)) for _ in range(2))
        split = random.randint(40, 260)
        if (colours, split) not in _pictures and colours[0] != colours[1]:
            _pictures.add((colours, split))
            return png(300, 200, colours, split)


def files_on_disk(media_dir):
    """{digest: set of '<size>.<ext>'} of the final files, and the list of .tmp-* paths."""
    digests, tmps = {}, []
    for root, _dirs, files in os.walk(media_dir):
        for f in files:
            if f.startswith(".tmp-"):
                tmps.append(os.path.join(root, f))
                continue
            stem, _, ext = f.rpartition(".")
            digest, _, size = stem.partition("-")
            if len(digest) == 64 and size in SIZES and ext in EXTS:
                digests.setdefault(digest, set()).add(f"{size}.{ext}")
    return digests, tmps


def complete(names):
    return names is not None and len(names) == len(SIZES) * len(EXTS)


def referenced(db):
    """Every digest a row names (the sweep's own query)."""
    return {r[0] for r in psql(
        db, "SELECT DISTINCT substr(image, 7) FROM (SELECT image FROM shops UNION ALL"
            " SELECT image FROM shop_categories UNION ALL SELECT image FROM products"
            " UNION ALL SELECT image FROM offers) pictures WHERE image LIKE 'media:%'")}


def row_image(db, product):
    return scalar(db, f"SELECT coalesce(image, '') FROM products WHERE id = {product}")


def put_picture(port, token, product, picture):
    started = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request("PUT", f"/api/v1/products/{product}/image", body=picture,
                  headers={"Content-Type": "image/png", "Authorization": "Bearer " + token,
                           "Accept": "application/json"})
        r = c.getresponse()
        raw = r.read()
    except (OSError, http.client.HTTPException) as e:
        return Response(None, None, f"{type(e).__name__}: {e}", time.time() - started, started)
    finally:
        c.close()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Response(r.status, body, None, time.time() - started, started, raw)


def media_status(port, digest, size, accept):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", f"/media/{digest}-{size}", headers={"Accept": accept})
        r = c.getresponse()
        body = r.read()
        return r.status, r.getheader("Content-Type"), len(body)
    except (OSError, http.client.HTTPException) as e:
        return None, str(e), 0
    finally:
        c.close()


def invariant(srv, db, media_dir, product, problems, when):
    """Every named digest is whole on disk and served; the product's API picture equals its
    row. Returns the set of named digests."""
    named = referenced(db)
    on_disk, _ = files_on_disk(media_dir)
    for d in sorted(named):
        if not complete(on_disk.get(d)):
            problems.append(f"{when}: digest {d} is named by a row but on disk only "
                            f"{sorted(on_disk.get(d, ()))}")
        for size in SIZES:
            for accept, ctype in (("image/webp", "image/webp"), ("image/jpeg", "image/jpeg")):
                status, got, n = media_status(srv.port, d, size, accept)
                if status != 200 or got != ctype or n == 0:
                    problems.append(f"{when}: GET /media/{d}-{size} (Accept {accept}) answered "
                                    f"{status} {got} ({n} bytes)")
    row = row_image(db, product)
    api = Client(srv.port, timeout=30).get(f"/api/v1/products/{product}")
    if api.status != 200:
        problems.append(f"{when}: GET product {product} answered {api!r}")
        return named
    image, images = api.body.get("image"), api.body.get("images")
    if not row.startswith("media:"):
        if image not in (None, row or None) or images is not None:
            problems.append(f"{when}: row holds {row!r}, the API shows image={image!r} "
                            f"images={images!r}")
    else:
        digest = row[len("media:"):]
        want = {s: f"/media/{digest}-{s}" for s in SIZES}
        if not (isinstance(image, str) and image.endswith(want["large"])):
            problems.append(f"{when}: row names {digest}, the API shows image={image!r}")
        if not isinstance(images, dict) or any(
                not str(images.get(s, "")).endswith(want[s]) for s in SIZES):
            problems.append(f"{when}: row names {digest}, the API shows images={images!r}")
    return named


def sweep_runs(port):
    r = Client(port, timeout=10).get("/metrics")
    m = re.search(r"^wassally_media_sweep_runs_total (\S+)$", r.raw.decode("utf-8", "replace"),
                  re.M)
    return float(m.group(1)) if m else 0.0


def sweeps_past_grace(srv, media_dir, digests, grace, problems, when):
    """Waits until two sweeps have run since every file of `digests` became old enough to be
    removed were no row to name it (mtime + grace, whole seconds)."""
    newest = 0.0
    for d in digests:
        sub = os.path.join(media_dir, d[:2])
        for f in os.listdir(sub) if os.path.isdir(sub) else ():
            if f.startswith(d):
                newest = max(newest, os.stat(os.path.join(sub, f)).st_mtime)
    eligible = int(newest) + grace + 1
    time.sleep(max(0.0, eligible - time.time()))
    base = sweep_runs(srv.port)
    if not wait_until(4 * SWEEP_INTERVAL_S + 5, lambda: sweep_runs(srv.port) >= base + 2):
        problems.append(f"{when}: the media sweep did not run twice in "
                        f"{4 * SWEEP_INTERVAL_S + 5} s")


def wait_until(seconds, check):
    deadline = time.time() + seconds
    while True:
        if check():
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--grace", type=int, default=4)
    args = ap.parse_args()
    cluster = PrivateCluster()
    media_dir = tempfile.mkdtemp(prefix="wassally-rel-media.")
    problems = []
    figures = {"rounds": 0, "late_commits": 0, "rolled_back": 0, "crashes": 0,
               "commits_after_crash": 0,
               "swept_orphans": 0, "sweep_s_max": 0.0}
    srv = None
    try:
        db = create_database(cluster.admin_url, "media")
        srv = Server(db, {"WASSALLY_MEDIA_DIR": media_dir,
                          "WASSALLY_MEDIA_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S),
                          "WASSALLY_MEDIA_SWEEP_GRACE_S": str(args.grace),
                          "WASSALLY_UPLOAD_RATE_PER_MINUTE": "1000",
                          "WASSALLY_DB_POOL_SIZE": str(POOL),
                          "WASSALLY_DB_READ_POOL_SIZE": str(READ_POOL)})
        srv.start()
        w = World(srv.port)
        shop = w.shop()
        product = w.product(shop, 100)
        first = put_picture(srv.port, shop["owner"], product, unique_picture())
        must(first, 200)
        log(f"product {product} has its first picture {row_image(db, product)}")
        for round_no in range(1, args.rounds + 1):
            log(f"-- round {round_no}: crash between the files and the row")
            crash_between(srv, db, media_dir, shop, product, args, figures, problems)
            if problems:
                break
            log(f"-- round {round_no}: crash during the commit")
            crash_during_commit(srv, db, media_dir, shop, product, args, figures, problems)
            if problems:
                break
            log(f"-- round {round_no}: crash after the row")
            crash_after(srv, db, media_dir, shop, product, args, figures, problems)
            if problems:
                break
            figures["rounds"] += 1
        if not srv.alive():
            problems.append("the server died:\n" + srv.log_tail())
        else:
            srv.kill()  # a crash test: the orderly shutdown is shutdown_test's
    finally:
        if srv:
            srv.cleanup()
        cluster.destroy()
        subprocess.run(["rm", "-rf", media_dir])
    return report(NAME, not problems, figures, problems)


def crash_between(srv, db, media_dir, shop, product, args, figures, problems):
    before_row = row_image(db, product)
    before_disk, _ = files_on_disk(media_dir)
    # The shop actor is warm (a stock edit goes through it) and every connection of the server
    # is open: the row change is the only database work the upload needs, and it waits on a
    # stopped backend (one opened during the stall could serve it at once).
    cl = Client(srv.port, timeout=30, token=shop["owner"])
    stock = int(float(must(cl.get(f"/api/v1/products/{product}"), 200)["stock"]))
    if not wait_until(15, lambda: must(cl.patch(f"/api/v1/products/{product}",
                                                {"stock": stock}), 200) is not None
                      and len(server_backends(db)) >= POOL + READ_POOL):
        problems.append(f"the server opened {len(server_backends(db))} connections, expected "
                        f"{POOL + READ_POOL}")
        return
    stall = BackendStall(db).start()
    answer = {}
    new = None
    try:
        t = threading.Thread(target=lambda: answer.setdefault(
            "r", put_picture(srv.port, shop["owner"], product, unique_picture())))
        t.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            disk, _ = files_on_disk(media_dir)
            fresh = [d for d, names in disk.items() if d not in before_disk and complete(names)]
            if fresh:
                new = fresh[0]
                break
            if not t.is_alive():
                break
            time.sleep(0.005)
        # The crash: the files are durable, the row change waits on a stopped backend.
        srv.kill()
        figures["crashes"] += 1
        # The killed server opens no new backends; those stopped stay so until resume().
        stall.stop()
        # A write the crash cut off: a temporary file of now.
        sub = os.path.join(media_dir, (new or "00")[:2])
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, ".tmp-" + "%016x" % random.getrandbits(64)), "wb") as f:
            f.write(b"\x89PNG partial")
        row_at_crash = row_image(db, product)
    finally:
        stall.resume()
    t.join()
    r = answer.get("r")
    log(f"{len(stall.stopped)} backends were stalled; the upload got {r and r.status} "
        f"({r and (r.error or '')}); new digest on disk: {new}")
    if new is None:
        problems.append("no new digest's six files appeared while the backends were stopped"
                        f" (upload answered {r!r})")
        return
    if row_at_crash != before_row:
        problems.append(f"the row changed while every backend was stopped: {row_at_crash}")
    # The killed server's backends go on and then go (their client is gone): only then is the
    # row final.
    if not wait_until(20, lambda: not set(server_backends(db)) & stall.stopped):
        problems.append(f"the killed server's backends are still there: {server_backends(db)}")
    row = row_image(db, product)
    late = row == "media:" + new
    if late:
        figures["late_commits"] += 1
    elif row == before_row:
        figures["rolled_back"] += 1
    else:
        problems.append(f"the row holds {row!r}: neither the old {before_row!r} nor the new "
                        f"digest {new}")
    log("the row change " + ("committed late, after SIGCONT" if late else
                             "did not commit (the row keeps its old picture)"))
    # The orphans are known before the restart: the restarted server's first sweep may remove
    # them at once (their files can be older than the grace by then).
    orphans = set(files_on_disk(media_dir)[0]) - referenced(db)
    srv.start()
    started = time.time()
    named = invariant(srv, db, media_dir, product, problems, "after the restart")

    # The sweep: every orphan (the new digest if the row does not name it, else the old one)
    # goes within grace + a few seconds of its files' age; the named files stay; no .tmp-*.
    bound = args.grace + 4 * SWEEP_INTERVAL_S + 2

    def swept():
        disk, tmps = files_on_disk(media_dir)
        return not (set(disk) & orphans) and not tmps
    ok = wait_until(bound, swept)
    took = time.time() - started
    disk, tmps = files_on_disk(media_dir)
    if not ok:
        problems.append(f"{bound} s after the restart, orphans still on disk: "
                        f"{sorted(set(disk) & orphans)}, temporary files: {tmps}")
    else:
        figures["swept_orphans"] += len(orphans)
        figures["sweep_s_max"] = max(figures["sweep_s_max"], round(took, 1))
    if not late and new not in orphans:
        problems.append(f"the row does not name {new}, yet it was not counted an orphan")
    sweeps_past_grace(srv, media_dir, named, args.grace, problems, "crash between")
    invariant(srv, db, media_dir, product, problems, "after the sweep")
    log(f"crash between: orphans {sorted(x[:12] for x in orphans)} swept in {took:.1f} s; "
        f"the row names {row[:18]}...")


GATE = 7342  # advisory lock key: held by the test, a deferred trigger waits on it at COMMIT


def install_commit_gate(db):
    """A deferred constraint trigger on products.image: a transaction that changed a picture
    waits at COMMIT while the test holds advisory lock GATE (no effect when it does not)."""
    psql(db, f"""
        CREATE OR REPLACE FUNCTION rel_media_commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared({GATE}); RETURN NULL; END $$;
        DROP TRIGGER IF EXISTS rel_media_commit_gate ON products;
        CREATE CONSTRAINT TRIGGER rel_media_commit_gate AFTER UPDATE OF image ON products
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rel_media_commit_gate()""")


def crash_during_commit(srv, db, media_dir, shop, product, args, figures, problems):
    """The row change's COMMIT has reached PostgreSQL (and waits there, on the gate) when the
    server is killed; the gate opens after the crash: the row change commits with its client
    gone. Its files were written before, so they must be kept and served; the picture it
    replaced becomes the orphan."""
    install_commit_gate(db)
    before_row = row_image(db, product)
    before_disk, _ = files_on_disk(media_dir)
    holder = subprocess.Popen(["psql", "-X", "-q", "-d", db], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write(f"SELECT pg_advisory_lock({GATE});\n")
    holder.stdin.flush()
    answer = {}
    t = None
    try:
        held = f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {GATE}"
        if not wait_until(10, lambda: int(scalar(db, held + " AND granted")) > 0):
            problems.append("psql did not take the gate's advisory lock")
            return
        t = threading.Thread(target=lambda: answer.setdefault(
            "r", put_picture(srv.port, shop["owner"], product, unique_picture())))
        t.start()
        if not wait_until(30, lambda: int(scalar(db, held + " AND NOT granted")) > 0
                          or not t.is_alive()):
            problems.append("the upload's COMMIT never waited on the gate")
        srv.kill()
        figures["crashes"] += 1
        waiting = int(scalar(db, held + " AND NOT granted"))
        new = [d for d, names in files_on_disk(media_dir)[0].items()
               if d not in before_disk and complete(names)]
    finally:
        holder.stdin.close()  # psql leaves: its session, and the lock, end
        holder.wait()
        if t:
            t.join()
    r = answer.get("r")
    log(f"the upload got {r and r.status} ({r and (r.error or '')}) with {waiting} COMMIT "
        f"waiting at the gate; new digests on disk: {new}")
    if not waiting or len(new) != 1:
        problems.append(f"crash during the commit: expected one COMMIT waiting and one new "
                        f"digest, got {waiting} and {new}")
        return
    new = new[0]
    gone = lambda: int(scalar(  # noqa: E731
        db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")) == 0
    if not wait_until(20, gone):
        problems.append("the killed server's backends are still there")
    row = row_image(db, product)
    if row == "media:" + new:
        figures["commits_after_crash"] += 1
        log("the row change committed after the crash")
    elif row == before_row:
        log("the row change did not commit after the crash")
    else:
        problems.append(f"the row holds {row!r}: neither {before_row!r} nor {new}")
    psql(db, "DROP TRIGGER rel_media_commit_gate ON products")
    orphans = set(files_on_disk(media_dir)[0]) - referenced(db)  # before the first sweep
    srv.start()
    started = time.time()
    named = invariant(srv, db, media_dir, product, problems, "after the commit crash")
    bound = args.grace + 4 * SWEEP_INTERVAL_S + 2
    if not wait_until(bound, lambda: not set(files_on_disk(media_dir)[0]) & orphans):
        problems.append(f"{bound} s after the restart, orphans still on disk: "
                        f"{sorted(set(files_on_disk(media_dir)[0]) & orphans)}")
    else:
        figures["swept_orphans"] += len(orphans)
    sweeps_past_grace(srv, media_dir, named, args.grace, problems, "crash during the commit")
    invariant(srv, db, media_dir, product, problems, "after the sweep")
    log(f"crash during the commit: orphans {sorted(x[:12] for x in orphans)} swept in "
        f"{time.time() - started:.1f} s; the row names {row[:18]}...")


def crash_after(srv, db, media_dir, shop, product, args, figures, problems):
    old = row_image(db, product)
    r = put_picture(srv.port, shop["owner"], product, unique_picture())
    if r.status != 200:
        problems.append(f"upload answered {r!r}")
        return
    image = r.body.get("image") or ""
    digest = image.rsplit("/media/", 1)[-1].rsplit("-", 1)[0]
    srv.kill()
    figures["crashes"] += 1
    srv.start()
    row = row_image(db, product)
    if row != "media:" + digest:
        problems.append(f"answered 200 with {digest}, the row holds {row!r} after the crash")
    named = invariant(srv, db, media_dir, product, problems, "after the crash")
    if digest not in named:
        problems.append(f"no row names {digest} after the crash")
    # Past the grace: sweeps have run; the named picture stays, the replaced one goes.
    sweeps_past_grace(srv, media_dir, named, args.grace, problems, "crash after")
    replaced = old[len("media:"):] if old.startswith("media:") else None
    if replaced and replaced != digest and replaced not in referenced(db):
        wait_until(args.grace + 4 * SWEEP_INTERVAL_S + 2,
                   lambda: replaced not in files_on_disk(media_dir)[0])
    disk, tmps = files_on_disk(media_dir)
    if not complete(disk.get(digest)):
        problems.append(f"after the grace the sweep left {sorted(disk.get(digest, ()))} of "
                        f"{digest}")
    if replaced and replaced != digest and replaced not in referenced(db) and replaced in disk:
        problems.append(f"the replaced picture {replaced} is still on disk after the grace")
    if tmps:
        problems.append(f"temporary files remain: {tmps}")
    invariant(srv, db, media_dir, product, problems, "after the grace")
    log(f"crash after the row: {digest[:12]} named, whole and served after the restart and the "
        f"grace")


if __name__ == "__main__":
    sys.exit(run_main(NAME, main))
