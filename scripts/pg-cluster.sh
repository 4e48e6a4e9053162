#!/usr/bin/env bash
# Manages a private PostgreSQL 15 cluster (Debian's postgresql-15 package) for development and
# tests. Nothing is shared with the system cluster: data, socket and log live under DATA_DIR.
#
#   scripts/pg-cluster.sh start DATA_DIR PORT      # initdb if needed, start, wait until ready
#   scripts/pg-cluster.sh stop DATA_DIR            # fast shutdown; fine if not running
#   scripts/pg-cluster.sh status DATA_DIR          # exit 0 if running
#   scripts/pg-cluster.sh dsn DATA_DIR PORT [DB]   # libpq keyword DSN over TCP, with password
#   scripts/pg-cluster.sh standby PRIMARY_DIR PRIMARY_PORT STANDBY_DIR STANDBY_PORT
#                                    # a streaming-replication (read-only) standby of a running
#                                    # primary: pg_basebackup -R, then start; `dsn STANDBY_DIR
#                                    # STANDBY_PORT` works (same password); `stop` stops it
#
# Authentication: `trust` for the unix socket in DATA_DIR only (the socket directory is 0700 and
# owned by the cluster user), scram-sha-256 for TCP on 127.0.0.1 with a generated password kept
# in DATA_DIR.password (mode 0600, beside the data directory). When run as root the cluster runs
# as the unprivileged `postgres` user.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin

die() {
  echo "pg-cluster.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: pg-cluster.sh start DATA_DIR PORT | stop DATA_DIR | status DATA_DIR | dsn DATA_DIR PORT [DBNAME] | standby PRIMARY_DIR PRIMARY_PORT STANDBY_DIR STANDBY_PORT"
}

abs_path() {
  # realpath -m: absolute and normalised, the path need not exist yet.
  realpath -m -- "$1"
}

check_port() {
  [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1 && "$1" <= 65535)) || die "invalid port: $1"
}

# Runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

password_file() {
  echo "$1.password"
}

is_running() {
  as_owner "$PG_BIN/pg_ctl" status -D "$1" >/dev/null 2>&1
}

cmd_start() {
  local data port parent pwfile
  data="$(abs_path "$1")"
  port="$2"
  check_port "$port"
  [[ -x "$PG_BIN/postgres" ]] ||
    die "PostgreSQL 15 not found in $PG_BIN (apt-get install postgresql-15)"
  parent="$(dirname -- "$data")"
  pwfile="$(password_file "$data")"
  mkdir -p -- "$parent"

  if [[ "$(id -u)" -eq 0 ]]; then
    getent passwd postgres >/dev/null ||
      die "user 'postgres' does not exist (install postgresql-15)"
    mkdir -p -- "$data"
    chown postgres:postgres -- "$data"
    chmod 0700 -- "$data"
    if ! runuser -u postgres -- test -x "$data" -a -w "$data"; then
      die "user 'postgres' cannot reach $data: every parent directory needs o+x (chmod o+x DIR)"
    fi
  else
    mkdir -p -- "$data"
    chmod 0700 -- "$data"
  fi

  if [[ ! -f "$data/PG_VERSION" ]]; then
    if [[ -n "$(ls -A -- "$data")" ]]; then
      die "$data is not empty and holds no PostgreSQL cluster"
    fi
    local pw tmp_pw
    pw="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    (umask 077 && printf '%s\n' "$pw" >"$pwfile")
    # initdb reads the superuser password from a file the cluster owner can read.
    tmp_pw="$(mktemp -p "$parent" .pg-cluster-pw.XXXXXX)"
    printf '%s\n' "$pw" >"$tmp_pw"
    if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres -- "$tmp_pw"; fi
    if ! as_owner "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$tmp_pw" \
      --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
      >"$data.initdb.log" 2>&1; then
      rm -f -- "$tmp_pw"
      die "initdb failed, see $data.initdb.log"
    fi
    rm -f -- "$tmp_pw"
    # Only the unix socket (trust) and 127.0.0.1 (password) may connect.
    cat >"$data/pg_hba.conf" <<'HBA'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
HBA
    if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres -- "$data/pg_hba.conf"; fi
    chmod 0600 -- "$data/pg_hba.conf"
    echo "include_if_exists = 'pg-cluster.conf'" | as_owner tee -a "$data/postgresql.conf" \
      >/dev/null
  fi
  [[ -f "$pwfile" ]] || die "password file $pwfile is missing (delete $data to start over)"

  # Settings are written every start so a reused cluster follows DATA_DIR and PORT.
  as_owner tee "$data/pg-cluster.conf" >/dev/null <<CONF
# Written by scripts/pg-cluster.sh on every start.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
password_encryption = 'scram-sha-256'
max_connections = 200
CONF

  if is_running "$data"; then
    local running_port
    running_port="$(sed -n 4p "$data/postmaster.pid" 2>/dev/null || true)"
    if [[ -n "$running_port" && "$running_port" != "$port" ]]; then
      die "cluster in $data already runs on port $running_port"
    fi
  else
    if ! as_owner "$PG_BIN/pg_ctl" start -w -t 60 -D "$data" -l "$data/server.log" \
      >/dev/null 2>&1; then
      die "postgres failed to start, see $data/server.log"
    fi
  fi
  local i
  for i in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      echo "postgres ready on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  die "postgres did not become ready on 127.0.0.1:$port, see $data/server.log"
}

cmd_stop() {
  local data
  data="$(abs_path "$1")"
  [[ -f "$data/PG_VERSION" ]] || return 0
  if is_running "$data"; then
    as_owner "$PG_BIN/pg_ctl" stop -w -m fast -D "$data" >/dev/null 2>&1 ||
      die "pg_ctl stop failed, see $data/server.log"
  fi
}

cmd_dsn() {
  local data port db pwfile pw
  data="$(abs_path "$1")"
  port="$2"
  db="${3:-postgres}"
  check_port "$port"
  pwfile="$(password_file "$data")"
  [[ -r "$pwfile" ]] || die "no password file $pwfile: run 'pg-cluster.sh start' first"
  pw="$(head -n1 -- "$pwfile")"
  echo "host=127.0.0.1 port=$port user=postgres password=$pw dbname=$db"
}

cmd_standby() {
  local primary pport standby sport pw
  primary="$(abs_path "$1")"
  pport="$2"
  standby="$(abs_path "$3")"
  sport="$4"
  check_port "$pport"
  check_port "$sport"
  is_running "$primary" || die "no primary running in $primary"
  pw="$(head -n1 -- "$(password_file "$primary")")"
  if ! grep -q '^host  *replication ' "$primary/pg_hba.conf"; then
    echo "host    replication postgres 127.0.0.1/32  scram-sha-256" |
      as_owner tee -a "$primary/pg_hba.conf" >/dev/null
    as_owner "$PG_BIN/pg_ctl" reload -D "$primary" >/dev/null
  fi
  if [[ ! -f "$standby/PG_VERSION" ]]; then
    mkdir -p -- "$standby"
    [[ -z "$(ls -A -- "$standby")" ]] || die "$standby is not empty and holds no cluster"
    if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres -- "$standby"; fi
    chmod 0700 -- "$standby"
    if ! as_owner env PGPASSWORD="$pw" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" \
      -U postgres -D "$standby" -R -X stream >"$standby.basebackup.log" 2>&1; then
      die "pg_basebackup failed, see $standby.basebackup.log"
    fi
    install -m 0600 -- "$(password_file "$primary")" "$(password_file "$standby")"
  fi
  as_owner tee "$standby/pg-cluster.conf" >/dev/null <<CONF
# Written by scripts/pg-cluster.sh standby.
listen_addresses = '127.0.0.1'
port = $sport
unix_socket_directories = '$standby'
password_encryption = 'scram-sha-256'
max_connections = 200
CONF
  if ! is_running "$standby"; then
    as_owner "$PG_BIN/pg_ctl" start -w -t 60 -D "$standby" -l "$standby/server.log" \
      >/dev/null 2>&1 || die "standby failed to start, see $standby/server.log"
  fi
  local i
  for i in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$sport"; then
      echo "standby ready on 127.0.0.1:$sport"
      return 0
    fi
    sleep 0.1
  done
  die "standby did not become ready on 127.0.0.1:$sport, see $standby/server.log"
}

[[ $# -ge 1 ]] || usage
case "$1" in
  start)
    [[ $# -eq 3 ]] || usage
    cmd_start "$2" "$3"
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    cmd_stop "$2"
    ;;
  status)
    # Exit 0 when a server runs on DATA_DIR (prints "running"), 1 otherwise.
    [[ $# -eq 2 ]] || usage
    if [[ -f "$(abs_path "$2")/PG_VERSION" ]] && is_running "$(abs_path "$2")"; then
      echo running
    else
      echo stopped
      exit 1
    fi
    ;;
  dsn)
    [[ $# -eq 3 || $# -eq 4 ]] || usage
    cmd_dsn "$2" "$3" "${4:-}"
    ;;
  standby)
    [[ $# -eq 5 ]] || usage
    cmd_standby "$2" "$3" "$4" "$5"
    ;;
  *) usage ;;
esac
