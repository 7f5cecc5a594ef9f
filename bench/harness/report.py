#!/usr/bin/env python3
"""The table of scripts/bench: reads the raw figures of one run (RAW_DIR/*.json, pgbench logs),
prints one table (scenario, requests/s, p50, p99, errors, the reference's figures, ratio,
target, result) and the checks, and with --readme replaces the "Latest harness run" section of
bench/README.md. Exit 1 when a correctness check failed or a scenario produced no figures; a
missed target is MISS, not a failure (nothing here is a timed test).

  report.py RAW_DIR --command CMD --machine TEXT --binary PATH --quick 0|1 --seconds S
            --connections C [--readme PATH]
"""
import datetime
import glob
import json
import os
import re
import sys

BEGIN = "<!-- harness:begin — written by scripts/bench, replaced by every full run -->"
END = "<!-- harness:end -->"


def w2_cpu_account(meta, placements, connections):
    """Where W2's CPU went, per placement, and what that bounds: a closed loop of `connections`
    clients has on average connections / rate in flight (Little's law)."""
    a, b = meta.get("cpu_ticks_before"), meta.get("cpu_ticks_after")
    if not a or not b or not placements:
        return None
    hz, cores = meta.get("clock_ticks_per_s", 100), meta.get("cores", 1)
    per = [(b[i] - a[i]) / hz * 1000 / placements for i in range(3)]
    server, pg, machine = per
    text = f"W2 CPU per placement (the run's window, from /proc): server {server:.2f} ms"
    if a[1] < 0:
        return text + " (PostgreSQL external: not counted)."
    bound = cores * 1000 / (server + pg) if server + pg > 0 else 0
    needed = connections / 0.020
    return (text + f", PostgreSQL {pg:.2f} ms, the rest of the machine (wrk, kernel) "
            f"{machine - server - pg:.2f} ms. Server and PostgreSQL alone need {server + pg:.2f} ms "
            f"of {cores} cores per placement: at most ~{bound:,.0f} placements/s here even with a free "
            f"client. A p99 of 20 ms at {connections} connections needs an average latency under "
            f"20 ms, i.e. (Little's law) more than {needed:,.0f} placements/s.")


def load(raw, name):
    path = os.path.join(raw, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def f1(x, digits=1):
    return "—" if x is None else f"{x:,.{digits}f}"


def ms(us):
    return None if us is None else us / 1000.0


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def wrk_rate(r):
    return r["requests"] / (r["duration_us"] / 1e6) if r and r["duration_us"] else 0.0


def wrk_socket_errors(r):
    return r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]


def pgbench(raw, n, log):
    """→ (transactions/s, p50 ms, p99 ms, failed) of one pgbench run."""
    text = open(log).read() if os.path.exists(log) else ""
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    tps = float(m.group(1)) if m else None
    failed = re.search(r"number of failed transactions: (\d+)", text)
    lat = []
    for path in glob.glob(os.path.join(raw, f"pgbench{n}.*")):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]) / 1000.0)
    return tps, pct(lat, 0.5), pct(lat, 0.99), int(failed.group(1)) if failed else 0


def main():
    raw = sys.argv[1]
    opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    quick = opts.get("--quick") == "1"
    rows, checks, notes = [], [], []
    failed = False

    def judge(ok):
        if quick:
            return "(quick)"
        return "PASS" if ok else "MISS"

    # W1 ------------------------------------------------------------------------------------
    w1, ng, meta1 = load(raw, "W1"), load(raw, "W1_nginx"), load(raw, "W1_meta")
    if w1 and ng:
        r, rn = wrk_rate(w1), wrk_rate(ng)
        ratio = r / rn if rn else 0
        p99 = ms(w1["p99_us"])
        rows.append(["W1 browse: GET /shops/{random}/products?page_size=20",
                     f1(r), f1(ms(w1["p50_us"]), 2), f1(p99, 2),
                     str(w1["status_errors"] + wrk_socket_errors(w1)),
                     f"nginx, static file of the same {meta1['bytes']} bytes",
                     f1(rn), f1(ms(ng["p50_us"]), 2), f1(ms(ng["p99_us"]), 2),
                     f"{ratio:.1%}", "≥ 95% of nginx (issue 19)",
                     judge(ratio >= 0.95)])
        drf = load(raw, "W1_drf")
        if drf:
            rd = wrk_rate(drf)
            rows.append(["W1 on DRF (gunicorn, sync workers): the same requests",
                         f1(rd), f1(ms(drf["p50_us"]), 2), f1(ms(drf["p99_us"]), 2),
                         str(drf["status_errors"] + wrk_socket_errors(drf)),
                         "this server (W1 row)", f1(r), f1(ms(w1["p50_us"]), 2), f1(p99, 2),
                         f"server {r / rd:,.1f}× DRF" if rd else "—", "(for reading)", ""])
    elif os.path.exists(os.path.join(raw, "W1_meta.json")):
        failed = True
        checks.append("W1: wrk produced no figures — FAIL")

    # W2 ------------------------------------------------------------------------------------
    w2, meta2 = load(raw, "W2"), load(raw, "W2_meta")
    if meta2 is not None:
        if not w2:
            failed = True
            checks.append("W2: wrk produced no figures — FAIL")
        else:
            st = {int(k): v for k, v in w2.get("statuses", {}).items()}
            n201 = st.get(201, 0)
            rate = n201 / meta2["window_s"]
            errors = sum(v for k, v in st.items() if k != 201) + wrk_socket_errors(w2)
            tps1, p50_1, p99_1, fail1 = pgbench(raw, 1, meta2["pgbench1_log"])
            tps10, p50_10, p99_10, fail10 = pgbench(raw, 10, meta2["pgbench10_log"])
            p99 = ms(w2["p99_us"])
            ratio = rate / tps1 if tps1 else 0
            ref1 = "pgbench, frozen placement.sql, 1 placement per transaction, 16 clients"
            rows.append([f"W2 place order: POST /orders, 3 items, {opts['--connections']} connections (placements/s)",
                         f1(rate), f1(ms(w2["p50_us"]), 2), f1(p99, 2),
                         str(errors) + (f" ({', '.join(f'{v}× {k}' for k, v in sorted(st.items()) if k != 201)})"
                                        if errors else ""),
                         ref1, f1(tps1), f1(p50_1, 2), f1(p99_1, 2), f"{ratio:.2f}×",
                         "≥ 3× pgbench (issue 19)", judge(ratio >= 3)])
            if tps10:
                rows.append(["W2 (group-commit ceiling, placements/s)", f1(rate), "", "", "",
                             "pgbench, frozen placement.sql, 10 placements per transaction",
                             f1(tps10 * 10), f1(p50_10, 2), f1(p99_10, 2),
                             f"{rate / (tps10 * 10):.2f}×", "(for reading)", ""])
            pcts = sorted(int(f[6:-5]) for f in os.listdir(raw)
                          if re.fullmatch(r"OL_W2_\d+\.json", f))
            for prefix, what in [("W2", "W2")] + [(f"OL_W2_{p}", f"W2 open loop at {p} %")
                                                   for p in pcts]:
                a, b = load(raw, prefix + "_actors_before") or {}, load(raw, prefix + "_actors_after") or {}
                pa, pb = a.get("persistence", {}), b.get("persistence", {})
                if "batches" in pa and "batches" in pb and pb["batches"] > pa["batches"]:
                    batches = pb["batches"] - pa["batches"]
                    commands = pb.get("commands", 0) - pa.get("commands", 0)
                    notes.append(f"{what} in the server: {commands:,} persistence commands in {batches:,} "
                                 f"transactions ({commands / batches:.2f} per commit, all writes of the "
                                 f"run; /api/v1/admin/actors), {pb.get('failed_batches', 0) - pa.get('failed_batches', 0)} "
                                 f"failed batches.")
            cpu = w2_cpu_account(meta2, n201, int(opts['--connections']))
            if cpu:
                notes.append(cpu)
            if fail1 or fail10:
                notes.append(f"pgbench reported failed transactions: {fail1} (1/tx), {fail10} (10/tx).")
            ok = meta2["orders_in_db"] == n201
            checks.append(f"W2 order count: {meta2['orders_in_db']} orders in the database, "
                          f"{n201} 201s counted by wrk — {'OK' if ok else 'MISMATCH (FAIL)'}")
            if meta2.get("synchronous_commit") != "on" or meta2.get("fsync") != "on":
                checks.append(f"W2: synchronous_commit={meta2.get('synchronous_commit')}, "
                              f"fsync={meta2.get('fsync')} — 201s were not all durable (FAIL)")
                ok = False
            failed |= not ok
            for name, label, target in (
                    ("W2k", "W2k: the same with an Idempotency-Key per placement (placements/s)", True),
                    ("W2_drf", "W2 on DRF (gunicorn, sync workers): the same placements (placements/s)", False)):
                rk, mk = load(raw, name), load(raw, name + "_meta")
                if mk is None:
                    continue
                if not rk:
                    failed = True
                    checks.append(f"{name}: wrk produced no figures — FAIL")
                    continue
                sk = {int(k): v for k, v in rk.get("statuses", {}).items()}
                nk = sk.get(201, 0)
                ratek = nk / mk["window_s"]
                errk = sum(v for k, v in sk.items() if k != 201) + wrk_socket_errors(rk)
                cells = [label, f1(ratek), f1(ms(rk["p50_us"]), 2), f1(ms(rk["p99_us"]), 2),
                         str(errk) + (f" ({', '.join(f'{v}× {k}' for k, v in sorted(sk.items()) if k != 201)})"
                                      if errk else "")]
                if target:
                    rk_ratio = ratek / tps1 if tps1 else 0
                    rows.append(cells + [ref1, f1(tps1), f1(p50_1, 2), f1(p99_1, 2),
                                         f"{rk_ratio:.2f}×", "≥ 3× pgbench (issue 19)",
                                         judge(rk_ratio >= 3)])
                else:
                    rows.append(cells + ["this server (W2 row)", f1(rate), f1(ms(w2["p50_us"]), 2),
                                         f1(p99, 2), f"server {rate / ratek:,.1f}× DRF" if ratek else "—",
                                         "(for reading)", ""])
                okk = mk["orders_in_db"] == nk
                checks.append(f"{name} order count: {mk['orders_in_db']} orders in the database, "
                              f"{nk} 201s counted by wrk — {'OK' if okk else 'MISMATCH (FAIL)'}")
                failed |= not okk

    # W3 ------------------------------------------------------------------------------------
    w3, meta3 = load(raw, "W3"), load(raw, "W3_meta")
    if meta3 is not None:
        if not w3:
            failed = True
            checks.append("W3: the race produced no figures — FAIL")
        else:
            race, serial = w3["race"], w3["serial"]
            ratio = race["accepted_per_s"] / serial["accepted_per_s"] if serial["accepted_per_s"] else 0
            conflicts = race.get("conflicts", {})
            rows.append([f"W3 accept race: {race['crews']} crews, {race['orders']} orders (accepted/s)",
                         f1(race["accepted_per_s"]), f1(race["p50_ms"], 2), f1(race["p99_ms"], 2),
                         str(race["errors"]),
                         f"the same number of accepts, 1 connection, one after another",
                         f1(serial["accepted_per_s"]), f1(serial["p50_ms"], 2), f1(serial["p99_ms"], 2),
                         f"{ratio:.2f}×", "exactly 1 winner per order (no speed target)", ""])
            wc = meta3["winners_check"]
            twoxx = race["statuses"].get("200", 0) + serial["statuses"].get("200", 0)
            ok = (meta3["db_double_assigned"] == 0 and wc["mismatch_count"] == 0
                  and meta3["db_assigned"] == twoxx and race["accepted"] == race["orders"]
                  and race["errors"] == 0 and serial["errors"] == 0)
            rows[-1][-1] = "PASS" if ok else "FAIL"
            checks.append(
                f"W3 winners: {meta3['db_assigned']} orders assigned in the database, {twoxx} 200s; "
                f"{meta3['db_double_assigned']} with two 'assigned' events; "
                f"{wc['mismatch_count']} whose crew differs from the 200 the clients saw; race: "
                f"{race['attempts']} accept attempts ({race['attempts_per_s']:,.0f}/s), "
                f"409s {json.dumps(conflicts)} — {'OK' if ok else 'FAIL'}")
            failed |= not ok

    # W4 ------------------------------------------------------------------------------------
    w4 = load(raw, "W4")
    if w4 is not None:
        if "loaded" not in w4:
            failed = True
            checks.append(f"W4: {w4.get('error', 'no figures')} — FAIL")
        else:
            ld, ref, cap = w4["loaded"], w4["reference_1_stream"], w4["capacity"]
            ratio = ld["p99_ms"] / ref["p99_ms"] if ref["p99_ms"] else 0
            rows.append([f"W4 streams: cancel sent → event, {ld['streams']:,} streams open "
                         f"({ld['rate_per_s']:g} changes/s)", "", f1(ld["p50_ms"], 2),
                         f1(ld["p99_ms"], 2), str(ld["missing_events"] + ref["missing_events"]),
                         "the same with 1 stream open", "", f1(ref["p50_ms"], 2),
                         f1(ref["p99_ms"], 2), f"{ratio:.2f}× (p99)",
                         "p99 ≤ 100 ms at 1,000 streams", judge(ld["p99_ms"] <= 100 and ld["missing_events"] == 0)])
            opened = cap.get("open_after_hold", 0)
            mib = cap.get("rss_kib_after", 0) / 1024
            rows.append([f"W4 capacity: {cap['streams']:,} streams held {cap.get('held_s', 0):g} s",
                         f"{opened:,} open", "", "", str(cap["streams"] - opened),
                         "server RSS before opening them", f"{cap.get('rss_kib_before', 0) / 1024:,.0f} MiB",
                         "", "", f"{mib:,.0f} MiB ({cap.get('kib_per_stream', 0):.1f} KiB/stream)",
                         "10,000 open", judge(opened >= 10000)])
            if "error" in cap:
                checks.append(f"W4 capacity: {cap['error']}")

    # W5 ------------------------------------------------------------------------------------
    w5 = load(raw, "W5")
    if w5 is not None:
        n = w5["orders"]
        rec = w5["recovery_s"]
        if w5["mode"] == "eager":
            what = f"recovered at start in {f1(rec, 2)} s (server's figure; {f1(w5['start_to_done_s'], 2)} s from exec)"
            live = w5["recovered_metric"]
        else:
            act = w5.get("activation") or {}
            ok200 = act.get("statuses", {}).get("200", 0)
            what = (f"no eager recovery in this server: {f1(rec, 2)} s to activate them by "
                    f"GET /orders/{{id}}: statuses {json.dumps(act.get('statuses', {}))}")
            if ok200 < n:
                rec = None  # not all recovered: no recovery time to judge
            live = w5["live_order_actors"]
            if live is None:
                what += "; GET /api/v1/admin/actors did not answer within 60 s"
                live = ok200
        if w5["mode"] == "eager" and w5.get("live_order_actors") is not None:
            what += f"; /api/v1/admin/actors: {w5['live_order_actors']:,} live order actors"
        live = live or 0
        # Per actor only when every order was recovered: otherwise the growth is mostly other
        # state (e.g. the dispatcher's index of all pending orders) and the quotient misleads.
        per = (w5["rss1_kib"] - w5["rss0_kib"]) / live if live >= n > 0 else None
        rows.append([f"W5 order actors: {n:,} non-final orders after a restart",
                     f"{n / rec:,.0f} orders/s" if rec else "—", "", "", str(max(0, n - live)),
                     "the same server with 0 orders, RSS",
                     f"{w5['rss0_kib'] / 1024:,.1f} MiB", "", "",
                     (f"{per:.2f} KiB/actor; " if per is not None else f"{live:,} of {n:,} live; RSS ")
                     + f"{w5['rss1_kib'] / 1024:,.1f} MiB",
                     "≤ 4 KiB/actor, recovery ≤ 5 s",
                     judge(per is not None and per <= 4 and rec is not None and rec <= 5)])
        checks.append(f"W5: {what}; {live:,} order actors live of {n:,}.")

    # Open loop --------------------------------------------------------------------------------
    ol_rows = []
    runs = []  # every open-loop run of the raw directory, by workload then percent
    for f in sorted(os.listdir(raw)):
        m = re.fullmatch(r"OL_(W[12])_(\d+)\.json", f)
        if m:
            runs.append((m.group(1), int(m.group(2))))
    for w, pct in sorted(runs):
        tool = "h2load" if w == "W1" else "driver.py openloop"
        limit = (5 if w == "W1" else 20) if pct == 50 else None
        name, label = f"OL_{w}_{pct}", f"{w} at {pct} % ({tool})"
        o = load(raw, name)
        if o is None:
            continue
        good = sum(v for k, v in o["statuses"].items() if k in ("200", "201"))
        errs = o["requests"] - good
        extra = ""
        if "slower_than_interval" in o:
            per_conn = 1000 / o["interval_ms"]
            extra = (f"{o['rate_asked'] / per_conn:,.0f} connections at {per_conn:g}/s each; "
                     f"{o['slower_than_interval']} answers > {o['interval_ms']:g} ms (a connection's send interval)")
        elif "send_lag_p99_ms" in o:
            extra = (f"{o['connections']} connections; send lag p99 {f1(o['send_lag_p99_ms'], 2)} ms, "
                     f"max {f1(o['send_lag_max_ms'], 2)} ms")
        if o.get("by_second"):
            worst = max(o["by_second"], key=lambda b: b[3] or 0)
            extra += (f"; worst second {worst[0]} of {len(o['by_second'])}: p99 {f1(worst[3], 2)} ms "
                      f"({worst[1]} requests)")
        if o.get("generator_cpu_ms_per_request") is not None:
            extra += f"; generator CPU {o['generator_cpu_ms_per_request']:.3f} ms/request"
        if limit is None:
            target, result = "(for reading)", ""
        else:
            target = f"p99 ≤ {limit} ms (issue 19)"
            result = judge(o["p99_ms"] is not None and o["p99_ms"] <= limit and errs == 0)
        ol_rows.append([label, f1(o["rate_asked"]), f1(o["rate_sent"]), f1(o["p50_ms"], 2),
                        f1(o["p99_ms"], 2), f1(o["p999_ms"], 2), f1(o["max_ms"], 2),
                        str(errs), extra, target, result])

    header = ["scenario", "requests/s", "p50 ms", "p99 ms", "errors", "reference",
              "ref requests/s", "ref p50 ms", "ref p99 ms", "ratio", "target", "result"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"`{opts['--command']}`, {now}, on {opts['--machine']}; server `{opts['--binary']}` "
            f"with its default configuration; wrk -t2 -c{opts['--connections']} "
            f"-d{opts['--seconds']}s per wrk scenario.")
    out = [head, ""] + table + [""]
    if ol_rows:
        ol_header = ["open loop (constant rate)", "rate asked /s", "rate sent /s", "p50 ms", "p99 ms",
                     "p99.9 ms", "max ms", "errors", "generator", "target", "result"]
        out += (["| " + " | ".join(ol_header) + " |", "|" + "---|" * len(ol_header)]
                + ["| " + " | ".join(r) + " |" for r in ol_rows] + [""])
    out += [f"- {c}" for c in checks] + [f"- {n}" for n in notes]
    print("\n".join(out))
    if "--readme" in opts and not failed:
        path = opts["--readme"]
        text = open(path).read()
        section = "\n".join([BEGIN, "## Latest harness run", ""] + out + [END])
        if BEGIN in text and END in text:
            a = text.index(BEGIN)
            b = text.index(END) + len(END)
            text = text[:a] + section + text[b:]
        else:
            marker = "\n## Latest figures"
            i = text.find(marker)
            text = (text[:i] + "\n" + section + "\n" + text[i:]) if i >= 0 else text + "\n" + section + "\n"
        with open(path, "w") as f:
            f.write(text)
        print(f"\n(written into {path})")
    if failed:
        print("\nbench: a check failed (see above)", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
