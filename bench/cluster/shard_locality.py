#!/usr/bin/env python3
"""Which shard key keeps a delivery platform's actions on one node (CLUSTER.md "Shard key").

A model, not a load test: a city-scale workload drawn at random (seeded), its entities placed on
nodes by the two candidate keys, and every action counted as local (every entity it touches on
one node) or cross-node. The actions are the ones the server performs on entities:

  placement  a customer's cart + 1-3 shops + the new order (one transaction)
  accept     a crew + an order (the crew is near the order's first shop)
  offer      the dispatcher's pending-order index + the crew it offers to

Keys:
  hash  every entity's shard is its id modulo the shard count (ids in creation order), as a
        hash of ids would spread them
  zone  every entity's shard is its service zone's; an order is zoned by its first shop, a cart
        and a crew by the home zone they were given; a zone is one city area

The workload: ZONES service zones; shops, customers and crews spread over them (each entity has
a home zone); a customer orders from 1-3 shops, all in their own zone except CROSS_ZONE of the
time (one shop from a neighbouring zone); a crew accepts orders whose first shop is in its own
zone except CREW_ROAM of the time.

  shard_locality.py [--zones 12] [--shards 64] [--nodes 2 3 5] [--placements 100000]
"""

import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zones", type=int, default=12)
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--nodes", type=int, nargs="+", default=[2, 3, 5])
    ap.add_argument("--shops", type=int, default=2000)
    ap.add_argument("--customers", type=int, default=50000)
    ap.add_argument("--crews", type=int, default=1500)
    ap.add_argument("--placements", type=int, default=100000)
    ap.add_argument("--cross-zone", type=float, default=0.03)
    ap.add_argument("--crew-roam", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    # Ids in creation order, one sequence per kind (as in PostgreSQL); home zones at random.
    shop_zone = {i: rnd.randrange(args.zones) for i in range(1, args.shops + 1)}
    shops_in = {z: [s for s, sz in shop_zone.items() if sz == z] for z in range(args.zones)}
    customer_zone = {i: rnd.randrange(args.zones) for i in range(1, args.customers + 1)}
    crew_zone = {i: rnd.randrange(args.zones) for i in range(1, args.crews + 1)}
    crews_in = {z: [c for c, cz in crew_zone.items() if cz == z] for z in range(args.zones)}
    # A zone's shard: zones spread over the shard range, so that the lease keeper's blocks of
    # shards (lowest first per node) give each node whole zones.
    zone_shard = {z: z * args.shards // args.zones for z in range(args.zones)}

    # The workload, drawn once: placements, then an accept and an offer per order.
    actions = []  # (kind, [(entity kind, id, zone)])
    order_id = 0
    for _ in range(args.placements):
        cust = rnd.randrange(1, args.customers + 1)
        z = customer_zone[cust]
        k = rnd.choice([1, 1, 2, 2, 3])
        picked = rnd.sample(shops_in[z], k)
        if rnd.random() < args.cross_zone:
            other = (z + 1) % args.zones
            picked[-1] = rnd.choice(shops_in[other])
        order_id += 1
        order_zone = shop_zone[picked[0]]
        entities = [("cart", cust, z)] + [("shop", s, shop_zone[s]) for s in picked] + \
                   [("order", order_id, order_zone)]
        actions.append(("placement", entities))
        crew_home = order_zone if rnd.random() >= args.crew_roam else \
            (order_zone + 1) % args.zones
        crew = rnd.choice(crews_in[crew_home])
        actions.append(("accept", [("crew", crew, crew_zone[crew]),
                                   ("order", order_id, order_zone)]))
        # The dispatcher's index of pending orders is kept per zone (zone key) or per shard of
        # the order (hash key: the order's owner indexes it).
        actions.append(("offer", [("index", order_id, order_zone), ("crew", crew,
                                                                     crew_zone[crew])]))

    def shard(key, ident, zone):
        # hash: the id's residue (the dispatcher's index entry lives with its order);
        # zone: the home zone's shard.
        return zone_shard[zone] if key == "zone" else ident % args.shards

    print(f"`bench/cluster/shard_locality.py --zones {args.zones} --shards {args.shards} "
          f"--placements {args.placements}` (seed {args.seed}; {args.shops} shops, "
          f"{args.customers} customers, {args.crews} crews; {args.cross_zone:.0%} of "
          f"placements with a shop from a neighbouring zone, {args.crew_roam:.0%} of accepts by "
          f"a crew from one)\n")
    print("| nodes | key | placements on one node | accepts on one node | offers on one node |")
    print("|---|---|---|---|---|")
    for n in args.nodes:
        # Shards to nodes in blocks, as the lease keeper's fair shares settle (lowest first).
        per = [args.shards // n + (1 if i < args.shards % n else 0) for i in range(n)]
        owner = {}
        s = 0
        for node, count in enumerate(per):
            for _ in range(count):
                owner[s] = node
                s += 1
        for key in ("hash", "zone"):
            local = {"placement": [0, 0], "accept": [0, 0], "offer": [0, 0]}
            for kind, entities in actions:
                nodes = set()
                for _, ident, zone in entities:
                    nodes.add(owner[shard(key, ident, zone)])
                local[kind][0] += len(nodes) == 1
                local[kind][1] += 1
            cells = [f"{100.0 * a / b:.1f} %" for a, b in
                     (local["placement"], local["accept"], local["offer"])]
            print(f"| {n} | {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
