# Helpers for a private ("embedded") PostgreSQL cluster. Source this file.
# As root, the cluster runs as the unprivileged `postgres` user (initdb refuses root).

pg_bindir() {
  local v
  v=$(ls -1 /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [[ -n "$v" ]] || { echo "pg: PostgreSQL is not installed" >&2; return 1; }
  echo "/usr/lib/postgresql/$v/bin"
}

# Runs a command as the cluster's owner.
pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_ensure_cluster DIR: initdb into DIR/data unless it exists.
pg_ensure_cluster() {
  local dir=$1 bin
  bin=$(pg_bindir)
  mkdir -p "$dir/sock"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown -R postgres "$dir"
    # The owner must be able to reach DIR through every parent.
    local p
    p=$(cd "$dir" && pwd)
    while [[ "$p" != "/" ]]; do
      p=$(dirname "$p")
      [[ -x "$p" ]] && chmod o+x "$p" 2>/dev/null || true
    done
  fi
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
}

# pg_start DIR PORT: starts the cluster on 127.0.0.1:PORT with its socket in DIR/sock.
pg_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bindir)
  if pg_as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return 0; fi
  if ! pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c max_connections=200 -c fsync=on -c synchronous_commit=on" \
      start >/dev/null; then
    echo "pg: failed to start; log tail:" >&2
    tail -20 "$dir/postgres.log" >&2
    return 1
  fi
}

# pg_stop DIR
pg_stop() {
  local dir=$1 bin
  bin=$(pg_bindir)
  if pg_as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
}

# pg_create_db PORT NAME: creates database NAME unless it exists.
pg_create_db() {
  local port=$1 name=$2
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$name'" postgres | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE \"$name\"" postgres >/dev/null
  fi
}

# pg_free_port: a TCP port nobody listens on at 127.0.0.1, outside the ephemeral range.
pg_free_port() {
  local port
  for _ in $(seq 1 100); do
    # Below the ephemeral range (32768+), where lingering client sockets cannot hold it.
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "pg: no free port found" >&2
  return 1
}
