-- Cluster mode (CLUSTER.md "Shard key"): a new shop, user or order gets an id whose residue
-- modulo the shard count is its zone's shard, so that one node serves a zone's shops, crews,
-- customers' carts and orders, and a placement or an accept stays on that node. Routing stays a
-- pure function of the id (shard = id mod shards).
--
-- The shard count is the cluster's: the number of shard_lease rows, which the first node in
-- cluster mode creates and every other node must agree with. Without them (a database only ever
-- used in single-node mode) an id is the sequence's next value, as before. Once they exist,
-- every new id is n × shards + residue, whoever makes it: a node of this release, a node of the
-- previous release still running during a rolling upgrade (the column defaults below), a node
-- back in single-node mode, psql. So no plain sequence value can ever collide with a zoned id.
--
-- The zone size is the session's wassally.zone_deg (cluster_zone_deg, set by each node in
-- cluster mode); unset, nothing is zoned and residues spread as a hash would.

-- The cluster's shard count (0: never in cluster mode, ids are plain sequence values).
CREATE FUNCTION id_shards() RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer FROM shard_lease
$$;

-- The shard of the zone (a cell of zone_deg × zone_deg degrees, hashed) the point falls in.
-- NULL (no zone) when ids are not zoned or the point is missing.
CREATE FUNCTION zone_shard(lat double precision, lng double precision) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
  shards integer := id_shards();
  deg double precision :=
    coalesce(nullif(current_setting('wassally.zone_deg', true), '')::double precision, 0);
  h bigint;
BEGIN
  IF shards <= 0 OR deg <= 0 OR lat IS NULL OR lng IS NULL THEN
    RETURN NULL;
  END IF;
  h := (floor(lat / deg)::bigint * 73856093) # (floor(lng / deg)::bigint * 19349663);
  RETURN ((h % shards) + shards) % shards;
END
$$;

-- The shard of an existing entity's id (NULL in single-node mode): an order takes its first
-- shop's.
CREATE FUNCTION shard_of_id(id bigint) RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
  shards integer := id_shards();
BEGIN
  IF shards <= 0 OR id IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN (id % shards)::integer;
END
$$;

-- A new id from `seq`: n × shards + shard, n the sequence's next value. Without a shard (no
-- zone), n's own residue, which spreads such ids as a hash would. Ids made before cluster mode
-- are below every one of these (n × shards >= n), so none collides.
CREATE FUNCTION zoned_id(seq regclass, shard integer) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  shards integer := id_shards();
  n bigint := nextval(seq);
BEGIN
  IF shards <= 0 THEN
    RETURN n;
  END IF;
  RETURN n * shards + coalesce(shard, (n % shards)::integer);
END
$$;

-- An insert that names no id (the previous release, scripts) gets one of the same form.
ALTER TABLE shops ALTER COLUMN id SET DEFAULT zoned_id('shops_id_seq', NULL);
ALTER TABLE users ALTER COLUMN id SET DEFAULT zoned_id('users_id_seq', NULL);
ALTER TABLE orders ALTER COLUMN id SET DEFAULT zoned_id('orders_id_seq', NULL);
