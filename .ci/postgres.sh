#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests of the PostgreSQL store.
#
# Sourced by .ci/run, or by hand:
#
#     source .ci/postgres.sh && go test ./internal/store/
#
# It installs PostgreSQL from the distribution's packages when initdb and
# pg_ctl are missing, runs initdb as a non-root user into a temporary
# directory, starts the server on a free loopback port (no Unix socket in a
# shared place, no password: trust on loopback only), creates a database and
# exports VEXLOOM_TEST_POSTGRES, the one variable the tests read. The cluster
# is stopped and removed when the shell that sourced this exits.

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

vexloom_pg_start() {
	local bin
	if ! bin="$(pg_bin)"; then
		if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
			echo "ci: installing postgresql" >&2
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
		fi
		bin="$(pg_bin)" || { echo "ci: PostgreSQL (initdb, pg_ctl) is required and could not be installed" >&2; return 1; }
	fi

	# initdb refuses to run as root: run the cluster as an unprivileged user.
	local as=()
	if [ "$(id -u)" = 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin postgres
		fi
		as=(runuser -u postgres --)
	fi

	VEXLOOM_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/vexloom-pg.XXXXXX")"
	chmod 755 "$VEXLOOM_PG_DIR"
	[ "${#as[@]}" -gt 0 ] && chown postgres "$VEXLOOM_PG_DIR"

	local port
	port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)" ||
		port=$((20000 + RANDOM % 20000))

	"${as[@]}" "$bin/initdb" -D "$VEXLOOM_PG_DIR/data" -U vexloom --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$VEXLOOM_PG_DIR/initdb.log" 2>&1 ||
		{ cat "$VEXLOOM_PG_DIR/initdb.log" >&2; return 1; }
	# The tests' own user needs no password; any other user does, so that
	# the tests can check what wrong credentials do.
	cat >"$VEXLOOM_PG_DIR/data/pg_hba.conf" <<-'HBA'
		local all vexloom             trust
		host  all vexloom 127.0.0.1/32 trust
		host  all all     127.0.0.1/32 scram-sha-256
	HBA
	"${as[@]}" "$bin/pg_ctl" -D "$VEXLOOM_PG_DIR/data" -l "$VEXLOOM_PG_DIR/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $VEXLOOM_PG_DIR -c max_connections=200 -c fsync=off" start >/dev/null ||
		{ cat "$VEXLOOM_PG_DIR/server.log" >&2; return 1; }
	"${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U vexloom vexloom_test
	export VEXLOOM_TEST_POSTGRES="postgres://vexloom@127.0.0.1:$port/vexloom_test?sslmode=disable"
	VEXLOOM_PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$VEXLOOM_PG_DIR/data" -m immediate stop)
	trap vexloom_pg_stop EXIT
	echo "ci: PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

vexloom_pg_stop() {
	if [ -n "${VEXLOOM_PG_DIR:-}" ]; then
		"${VEXLOOM_PG_STOP[@]}" >/dev/null 2>&1 || true
		rm -rf "$VEXLOOM_PG_DIR"
		VEXLOOM_PG_DIR=
	fi
}

vexloom_pg_start
