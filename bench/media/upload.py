#!/usr/bin/env python3
"""Upload load for bench/media: N threads, each with its own keep-alive connection, PUT the
pictures (raw body, Content-Type: image/jpeg) to one URL again and again for `seconds`, then
finish the request in flight. Prints one JSON object:
  {"ok": n, "statuses": {...}, "window_s": s, "rate": ok/s, "p50_ms", "p90_ms", "p99_ms", "max_ms"}
The window runs from the first request to the last response, so uploads still in flight when the
time is up are counted and timed, and none is cut off.

  upload.py HOST PORT PATH TOKEN SECONDS CLIENTS PICTURE [PICTURE ...]

`reference` mode times the same work done by libvips alone (the `vips` CLI), LANES pictures at a
time, one picture after another per lane:
  upload.py reference SECONDS LANES WORKDIR PICTURE [PICTURE ...]
Per picture: `vips thumbnail` to 1600, 640 and 160 (longest side, shrink only), each saved as
WebP (Q=80, strip) and JPEG (Q=82, strip, optimize_coding) — 9 `vips` processes.

`inprocess` mode runs LANES copies of the compiled vips_reference.c (the same work in one
process, pictures from memory) and merges what they print:
  upload.py inprocess SECONDS LANES BINARY PICTURE [PICTURE ...]
Its rate is the sum over lanes of pictures ÷ that lane's time spent on them (no start-up).
"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summarize(latencies, statuses, window):
    latencies.sort()
    ok = statuses.get("200", 0)
    return {
        "ok": ok,
        "statuses": statuses,
        "window_s": round(window, 3),
        "rate": round(ok / window, 2) if window > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "p90_ms": round(percentile(latencies, 90), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
    }


def upload(host, port, path, token, seconds, clients, pictures):
    bodies = [open(p, "rb").read() for p in pictures]
    lock = threading.Lock()
    latencies, statuses = [], {}
    start = time.monotonic()
    deadline = start + seconds
    last_end = [start]

    def client(index):
        conn = http.client.HTTPConnection(host, port, timeout=300)
        n = index
        while time.monotonic() < deadline:
            body = bodies[n % len(bodies)]
            n += 1
            t0 = time.monotonic()
            try:
                conn.request("PUT", path, body=body, headers={
                    "Authorization": "Bearer " + token, "Content-Type": "image/jpeg"})
                resp = conn.getresponse()
                resp.read()
                status = str(resp.status)
            except (OSError, http.client.HTTPException) as e:
                status = "error:" + type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=300)
            t1 = time.monotonic()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    latencies.append((t1 - t0) * 1000.0)
                last_end[0] = max(last_end[0], t1)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarize(latencies, statuses, last_end[0] - start)


def reference(seconds, lanes, workdir, pictures):
    env = dict(os.environ, VIPS_CONCURRENCY="1")  # the server runs libvips with image_threads=1
    sizes = (1600, 640, 160)
    lock = threading.Lock()
    latencies, statuses = [], {}
    start = time.monotonic()
    deadline = start + seconds
    last_end = [start]

    def run(args):
        subprocess.run(["vips"] + args, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def lane(index):
        d = os.path.join(workdir, "lane%d" % index)
        os.makedirs(d, exist_ok=True)
        n = index
        while time.monotonic() < deadline:
            picture = pictures[n % len(pictures)]
            n += 1
            t0 = time.monotonic()
            status = "200"
            try:
                for s in sizes:
                    v = os.path.join(d, "%d.v" % s)
                    run(["thumbnail", picture, v, str(s), "--height", str(s), "--size", "down"])
                    run(["webpsave", v, os.path.join(d, "%d.webp" % s), "--Q", "80", "--strip"])
                    run(["jpegsave", v, os.path.join(d, "%d.jpg" % s), "--Q", "82", "--strip",
                         "--optimize-coding"])
            except subprocess.CalledProcessError as e:
                status = "vips failed: " + e.stderr.decode(errors="replace")[:200]
            t1 = time.monotonic()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    latencies.append((t1 - t0) * 1000.0)
                last_end[0] = max(last_end[0], t1)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = summarize(latencies, statuses, last_end[0] - start)
    # What 9 bare process starts cost (libvips initialised, no pixels): the CLI's own overhead.
    t0 = time.monotonic()
    for _ in range(20):
        subprocess.run(["vips", "--version"], env=env, check=True, stdout=subprocess.DEVNULL)
    out["spawn_ms"] = round((time.monotonic() - t0) * 1000.0 / 20, 2)
    return out


def inprocess(seconds, lanes, binary, pictures):
    procs = [subprocess.Popen([binary, str(seconds)] + pictures[i:] + pictures[:i],
                              stdout=subprocess.PIPE) for i in range(lanes)]
    latencies, rate = [], 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit("vips_reference failed")
        times = [float(line) for line in out.split()]
        latencies += times
        if times:
            rate += len(times) / (sum(times) / 1000.0)
    out = summarize(latencies, {"200": len(latencies)}, 1.0)
    out["rate"] = round(rate, 2)
    del out["window_s"]
    return out


def main(argv):
    if argv[1] == "inprocess":
        seconds, lanes, binary = float(argv[2]), int(argv[3]), argv[4]
        print(json.dumps(inprocess(seconds, lanes, binary, argv[5:])))
    elif argv[1] == "reference":
        seconds, lanes, workdir = float(argv[2]), int(argv[3]), argv[4]
        print(json.dumps(reference(seconds, lanes, workdir, argv[5:])))
    else:
        host, port, path, token = argv[1], int(argv[2]), argv[3], argv[4]
        seconds, clients = float(argv[5]), int(argv[6])
        print(json.dumps(upload(host, port, path, token, seconds, clients, argv[7:])))


if __name__ == "__main__":
    main(sys.argv)
