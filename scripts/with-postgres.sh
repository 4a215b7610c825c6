#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server on loopback: initdb into a temporary directory, start it on a
# free port, export EMP_TEST_POSTGRES_URL (a superuser URL; tests create a database each), run the command, then
# stop the server and remove its files (WITH_POSTGRES_DURABLE=1 keeps fsync on, for benchmarks; tests turn it
# off: they kill processes, not machines). PostgreSQL comes from Debian's packages (scripts/ensure-packages.sh);
# initdb refuses root, so as root the server runs as the `postgres` system user.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "with-postgres: no PostgreSQL server (Debian: apt-get install postgresql)" >&2; exit 1; }

dir=$(mktemp -d /tmp/emp-postgres.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
stop() {
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U emp --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
fsync=off
[ "${WITH_POSTGRES_DURABLE:-}" = 1 ] && fsync=on
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=500 -c fsync=$fsync -c shared_buffers=64MB" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }

export EMP_TEST_POSTGRES_URL="postgres://emp@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
set +e
"$@"
status=$?
set -e
exit $status
