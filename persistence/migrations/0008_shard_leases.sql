-- Cluster mode (CLUSTER.md). Unused in single-node mode.
--
-- A node is live while its heartbeat (expires_at, on the database clock) has not passed; each
-- lease round renews it with the node's leases. `incarnation` is drawn at random by each process
-- start: a second live process with the same name is refused, and a restarted node cannot renew
-- its predecessor's leases (it claims them once expired, at a new epoch, so a paused
-- predecessor's writes are fenced out).
CREATE TABLE cluster_node (
  node        text PRIMARY KEY CHECK (node ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  incarnation bigint NOT NULL,
  url        text NOT NULL DEFAULT '',
  started_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

-- One row per shard. Its owner serves the shard's entities until expires_at (database clock),
-- renewing it by a conditional UPDATE; anyone may claim it after that, raising its epoch. Every
-- write an owner makes checks, holding this row FOR SHARE until its COMMIT, that node and epoch
-- are still its own: a claim (an UPDATE) waits for such writes to end, and a write after the
-- claim sees the new epoch and is refused.
CREATE TABLE shard_lease (
  shard      integer PRIMARY KEY CHECK (shard >= 0),
  node        text,
  incarnation bigint,
  epoch       bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  expires_at  timestamptz,
  CHECK ((node IS NULL) = (expires_at IS NULL) AND (node IS NULL) = (incarnation IS NULL))
);
CREATE INDEX shard_lease_by_node ON shard_lease (node);
