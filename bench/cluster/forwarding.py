#!/usr/bin/env python3
"""Forwarding cost and the shard key (bench/cluster/run): the same reads and placements against
single-node mode, a one-node cluster, and a three-node cluster with each shard key (ids hashed,
cluster_zone_deg 0; ids zoned, cluster_zone_deg 0.5) on this machine, same run. Each
configuration gets a fresh database on one PostgreSQL, the same data shape and the same load:
three wrk processes (one per node, or three on the one node), each with a third of the
connections, for `seconds`.

The data: ZONES service zones (cells 0.5 degrees apart), SHOPS_PER_ZONE shops of 10 products
in each, 64 customers registered with a home_location in one of them (round robin).
W1: GET /api/v1/shops/{random}/products?page_size=20. W2: POST /api/v1/orders by a random
customer of 1-3 random products of the customer's own zone (placements/s = 2xx answers /
seconds). Requests reach a random node, as behind a load balancer that knows nothing of zones.
With hashed ids a placement's cart, shops and order are spread over the nodes; with zoned ids
they share the zone's node, and only the hop from the node the request reached remains.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reliability"))
from harness import Client, NatsServer, Server, World, create_database, env_or_die, must  # noqa

SECRET = "bench-cluster-secret-0123456789abcdef0123456789"
SHARDS = 12
ZONES = 6
SHOPS_PER_ZONE = 4
ZONE_DEG = 0.5


def zone_point(z):
    """The middle of zone z's cell: cells 0.5 degrees apart going north from Cairo."""
    return (30.0 + ZONE_DEG * z + ZONE_DEG / 2, 31.0 + ZONE_DEG / 2)


def wrk_script(path, kind, shops, products, customers):
    with open(path, "w") as f:
        if kind == "W1":
            f.write("local ids = {%s}\n" % ",".join(str(s) for s in shops))
            f.write('request = function()\n  return wrk.format("GET", "/api/v1/shops/" .. '
                    'ids[math.random(#ids)] .. "/products?page_size=20")\nend\n')
        else:
            # customers: (token, zone); products: by zone
            f.write("local tokens = {%s}\n" % ",".join(json.dumps(t) for t, _ in customers))
            f.write("local zones = {%s}\n" % ",".join(str(z + 1) for _, z in customers))
            f.write("local by_zone = {%s}\n" % ",".join(
                "{%s}" % ",".join(str(p) for p in products[z]) for z in range(ZONES)))
            f.write("""request = function()
  local c = math.random(#tokens)
  local products = by_zone[zones[c]]
  local n = math.random(3)
  local picked, items = {}, {}
  while #items < n do
    local p = products[math.random(#products)]
    if not picked[p] then
      picked[p] = true
      items[#items + 1] = string.format('{"product_id":%d,"quantity":1}', p)
    end
  end
  local body = '{"receiver_name":"Mona","receiver_phone":"+201001234567",' ..
    '"location":{"address":"2 Nile St","latitude":30.06,"longitude":31.24},"items":[' ..
    table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/api/v1/orders", {["Authorization"] = "Bearer " ..
    tokens[c], ["Content-Type"] = "application/json"}, body)
end
""")


def run_wrk(ports, script, seconds, connections):
    """Three wrk processes over `ports` (cycled), each with `script` or, when `script` is a list,
    with the script of its port; returns (requests, non-2xx) summed."""
    procs = []
    for i in range(3):
        port = ports[i % len(ports)]
        own = script[i % len(ports)] if isinstance(script, list) else script
        procs.append(subprocess.Popen(
            ["wrk", "-t1", f"-c{max(1, connections // 3)}", f"-d{seconds}s", "--timeout", "10s",
             "-s", own, f"http://127.0.0.1:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    requests = bad = 0
    for p in procs:
        out, _ = p.communicate()
        m = re.search(r"(\d+) requests in", out)
        if not m:
            raise RuntimeError("wrk printed no figures:\n" + out)
        requests += int(m.group(1))
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        bad += int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: .*", out)
        if m:
            print("   wrk:", m.group(0))
    return requests, bad


def forwarded(ports, staff):
    total = 0
    for p in ports:
        r = Client(p).get("/api/v1/admin/cluster", token=staff)
        total += r.body.get("routing", {}).get("forwarded", 0) if r.status == 200 else 0
    return total


def measure(label, nodes, admin, nats, args, zoned=True, zone_affine=False):
    db = create_database(admin, "benchcluster")
    servers = []
    for i in range(nodes):
        env = {"WASSALLY_TOKEN_SECRET": SECRET, "WASSALLY_CLUSTER_SHARDS": str(SHARDS),
               "WASSALLY_RECONCILE_INTERVAL_S": "0",
               "WASSALLY_CLUSTER_ZONE_DEG": str(ZONE_DEG) if zoned else "0"}
        if label != "single-node mode":
            env.update({"WASSALLY_CLUSTER_NODE_ID": f"n{i + 1}",
                        "WASSALLY_CLUSTER_NATS_URL": nats.url})
        servers.append(Server(db, env))
    try:
        for s in servers:
            s.start()
        w = World(servers[0].port)
        if nodes > 1:  # the shards split evenly before the load starts
            deadline = time.time() + 30
            while time.time() < deadline:
                views = [Client(s.port).get("/api/v1/admin/cluster", token=w.staff)
                         for s in servers]
                if all(len(v.body.get("held", [])) == SHARDS // nodes for v in views):
                    break
                time.sleep(0.2)
        shops, products = [], {}
        for z in range(ZONES):
            here = [w.shop(*zone_point(z)) for _ in range(SHOPS_PER_ZONE)]
            shops += here
            products[z] = [w.product(s, 1000000) for s in here for _ in range(10)]
        customers = [(w.customer(home=zone_point(i % ZONES))["token"], i % ZONES)
                     for i in range(64)]
        ports = [s.port for s in servers]
        for p in ports:  # every shop actor warm on its owner
            for s in shops:
                must(Client(p).get(f"/api/v1/shops/{s['id']}/products?page_size=20"), 200)
        row = {"config": label}
        for kind in ("W1", "W2"):
            script = os.path.join(args.work, f"{kind}.lua")
            wrk_script(script, kind, [s["id"] for s in shops], products, customers)
            targets = ports
            if zone_affine and kind == "W2":
                # Each node is sent the customers of the zones it serves (as a load balancer
                # that routes by zone would): one script per node that serves any.
                held = {n: set(Client(p).get("/api/v1/admin/cluster", token=w.staff)
                               .body.get("held", [])) for n, p in enumerate(ports)}
                zone_node = {z: next(n for n in held if shops[z * SHOPS_PER_ZONE]["id"] % SHARDS
                                     in held[n]) for z in range(ZONES)}
                targets, script = [], []
                for n, p in enumerate(ports):
                    mine = [c for c in customers if zone_node[c[1]] == n]
                    if mine:
                        targets.append(p)
                        script.append(os.path.join(args.work, f"{kind}-{n}.lua"))
                        wrk_script(script[-1], kind, [], products, mine)
            before = forwarded(ports, w.staff) if nodes > 1 else 0
            requests, bad = run_wrk(targets, script, args.seconds, args.connections)
            after = forwarded(ports, w.staff) if nodes > 1 else 0
            row[kind] = round((requests - bad) / args.seconds, 1)
            row[kind + "_non2xx"] = bad
            row[kind + "_forwarded_per_request"] = round((after - before) / max(1, requests), 2)
            print(f"  {label}: {kind} {row[kind]}/s ({bad} non-2xx, "
                  f"{row[kind + '_forwarded_per_request']} forwards per request)")
        return row
    finally:
        for s in servers:
            s.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=48)
    ap.add_argument("--work", default="/tmp")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    env_or_die("WASSALLY_BINARY")
    admin = env_or_die("WASSALLY_TEST_DATABASE_URL")
    random.seed(1)
    nats = NatsServer()
    nats.start()
    try:
        rows = [measure("single-node mode", 1, admin, nats, args),
                measure("1-node cluster", 1, admin, nats, args),
                measure("3-node cluster, ids hashed", 3, admin, nats, args, zoned=False),
                measure("3-node cluster, ids zoned", 3, admin, nats, args, zoned=True),
                measure("3-node cluster, ids zoned, placements sent to the zone's node", 3,
                        admin, nats, args, zoned=True, zone_affine=True)]
    finally:
        nats.kill()
    ref = rows[1]
    lines = [
        "# Cluster: forwarding cost and the shard key (bench/cluster/run)",
        "",
        f"`bench/cluster/run {args.seconds} {args.connections}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores. "
        "Three nodes share this machine's cores with PostgreSQL, nats-server and wrk: the "
        "ratios show what forwarding costs, not how a cluster of machines scales. Same "
        f"workload in every row: {ZONES} zones of {SHOPS_PER_ZONE} shops, 64 customers with a "
        "home zone ordering 1-3 products of their zone, requests to a random node (last row: "
        "placements sent to the node serving the customer's zone, as a load balancer routing "
        "by zone would).",
        "",
        "| configuration | W1 reads/s | vs 1-node cluster | forwards per read | W2 placements/s "
        "| vs 1-node cluster | forwards per placement | non-2xx (W1, W2) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['W1']:,} | {r['W1'] / ref['W1']:.2f}× | "
            f"{r['W1_forwarded_per_request']} | {r['W2']:,} | {r['W2'] / ref['W2']:.2f}× | "
            f"{r['W2_forwarded_per_request']} | {r['W1_non2xx']}, {r['W2_non2xx']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
