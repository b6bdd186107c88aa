#!/usr/bin/env bash
# Starts a private PostgreSQL server for tests: initdb into a temporary directory, listening
# on 127.0.0.1 only, on a free port. Source it, then call pg_start / pg_stop.
#   pg_start  sets PG_URL (postgres://postgres@127.0.0.1:PORT/hygie) and PG_DIR
#   pg_stop   stops the server it started and removes its directory
# PostgreSQL refuses to run as root; when run as root the server runs as the unprivileged
# user "hygiepg" (created if missing).

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
  else
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
  fi
}

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u hygiepg -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local bin port
  bin=$(pg_bindir)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (install postgresql-15)" >&2; return 1; }
  if [ "$(id -u)" = 0 ] && ! id hygiepg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin hygiepg
  fi
  PG_DIR=$(mktemp -d /tmp/hygie-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown hygiepg "$PG_DIR"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_DIR -c max_connections=600 -c shared_buffers=256MB ${PG_EXTRA_OPTIONS:-}" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  pg_as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres hygie
  PG_PORT=$port
  PG_URL="postgres://postgres@127.0.0.1:$port/hygie"
  export PG_DIR PG_PORT PG_URL
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  pg_as_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  unset PG_DIR PG_URL PG_PORT
}
