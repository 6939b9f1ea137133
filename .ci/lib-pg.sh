# shellcheck shell=bash
# Helpers shared by .ci/run and .ci/ensure-pgvector.sh. Source it; do not run it.
#
# Everything here logs to stderr so that callers can keep stdout for results
# (ensure-pgvector.sh prints only the DATABASE_URL on stdout).

ci_log() { printf '[%s] %s\n' "${CI_LOG_TAG:-ci}" "$*" >&2; }
ci_die() { ci_log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch (bash's SECONDS is too coarse for ~1 s steps).
ci_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# "12.3" from a millisecond count.
ci_fmt_ms() { printf '%d.%01d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }

# psql against $PGHOST:$PGPORT as $CI_PG_ROLE, quiet, unaligned, stop on SQL errors.
ci_psql() {
  # client_min_messages=warning: no "already exists, skipping" NOTICEs in the log.
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" \
    -U "${CI_PG_ROLE:-postgres}" "$@"
}

# Print the first role that can log in without a password (trust auth) and is a
# superuser (CREATE EXTENSION / CREATE DATABASE need one). Debian's cluster has
# both `postgres` and `root`; a throwaway cluster made with `initdb -U postgres`
# has only `postgres`. Returns 1 if none works.
ci_pg_detect_role() {
  local role
  for role in ${PGUSER:-} postgres root; do
    if [[ "$(PGCONNECT_TIMEOUT=5 psql -X -At -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" \
            -U "$role" -d postgres -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user' \
            2>/dev/null)" == t ]]; then
      echo "$role"
      return 0
    fi
  done
  return 1
}

# The PostgreSQL bin dir for server-side tools (initdb, pg_ctl). Debian puts them in
# /usr/lib/postgresql/<major>/bin, not on PATH. Prefer what pg_config says, else the
# newest installed major. Returns 1 if no server is installed.
ci_pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then echo "$dir"; return 0; fi
  fi
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then echo "$dir"; return 0; fi
  return 1
}

# Is something accepting PostgreSQL connections on $1:$2?
ci_pg_ready() { pg_isready -q -h "$1" -p "$2" -t "${3:-3}"; }

# If the machine's own Debian cluster exists but is stopped, start it the same way the
# machine does at boot (there is no systemd here, hence --skip-systemctl-redirect).
# Succeeds only if 127.0.0.1:5432 then accepts connections.
ci_pg_start_debian_cluster() {
  local ver
  [[ -d /etc/postgresql ]] || return 1
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  [[ -n "$ver" && -d "/etc/postgresql/$ver/main" ]] || return 1
  command -v pg_ctlcluster >/dev/null 2>&1 || return 1
  ci_log "starting the Debian cluster $ver/main"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || return 1
  ci_pg_ready 127.0.0.1 5432 15
}
