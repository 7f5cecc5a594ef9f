-- Cluster mode (CLUSTER.md "Shard key"): a new shop, user or order gets an id whose residue
-- modulo the shard count is its zone's shard, so that one node serves a zone's shops, crews,
-- customers' carts and orders, and a placement or an accept stays on that node. Routing stays a
-- pure function of the id (shard = id mod shards).
--
-- The shard count and the zone size are each connection's settings (wassally.id_shards,
-- wassally.zone_deg; the server sets them in cluster mode). Unset (single-node mode), an id is
-- the sequence's next value, as before; so is an id made by a client of this database that does
-- not set them (a script, psql).

-- The cluster's shard count (0: ids are plain sequence values).
CREATE FUNCTION id_shards() RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('wassally.id_shards', true), '')::integer, 0)
$$;

-- The shard of the zone the point falls in: zones are cells of zone_deg × zone_deg degrees,
-- each cell hashed to a shard. NULL (no zone) when ids are not zoned or the point is missing.
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

-- The shard of an existing entity's id (NULL when ids are not zoned): an order takes its first
-- shop's.
CREATE FUNCTION shard_of_id(id bigint) RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN id_shards() > 0 AND id IS NOT NULL THEN (id % id_shards())::integer END
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
