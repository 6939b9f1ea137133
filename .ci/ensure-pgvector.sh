#!/usr/bin/env bash
# Make sure a local PostgreSQL server has the pgvector extension, prepare a database
# with `vector` enabled in it, and print its DATABASE_URL on stdout (logs go to stderr).
#
# Usage:
#   .ci/ensure-pgvector.sh [--recreate] [DBNAME]        (DBNAME defaults to "ragchat")
#   export DATABASE_URL="$(.ci/ensure-pgvector.sh ragchat_bench)"
#
#   --recreate   drop DBNAME first (WITH (FORCE)), for a clean run. Without it an existing
#                database is kept and only gets `CREATE EXTENSION IF NOT EXISTS vector`.
#
# Environment:
#   PGHOST / PGPORT      server to use (default 127.0.0.1:5432). For 127.0.0.1:5432, a
#                        stopped Debian cluster is started first.
#   PGUSER               role to try first (then postgres, then root); needs trust auth
#                        and superuser.
#   PGVECTOR_VERSION / PGVECTOR_SHA256   override the pgvector source tarball.
#
# Why this route (see ../shared/ENVIRONMENT.md, "pgvector on a real PostgreSQL"):
# Debian bookworm has no pgvector package, and the only network here is Debian's apt
# archive and the npm registry. So pgvector is built from Debian's pristine upstream
# tarball (the archive pool also serves trixie's sources), against server headers taken
# from postgresql-server-dev-<major> *unpacked* into a temp dir: installing that package
# would pull ~70 MB of clang/llvm. Adding trixie binary sources instead would upgrade
# libc6/dpkg/openssl, so never do that.
#
# Idempotent: if the server already lists `vector` in pg_available_extensions nothing is
# downloaded or built (well under a second). Download + build + install takes ~5 s as root.
set -euo pipefail

CI_LOG_TAG=ensure-pgvector
# shellcheck source=.ci/lib-pg.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pg.sh"

PGVECTOR_VERSION="${PGVECTOR_VERSION:-0.8.0}"
PGVECTOR_SHA256="${PGVECTOR_SHA256:-867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0}"

recreate=0
dbname=ragchat
for arg in "$@"; do
  case "$arg" in
    --recreate) recreate=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) ci_die "unknown option $arg (see --help)" ;;
    *) dbname="$arg" ;;
  esac
done
# Keep SQL quoting trivial: plain lower-case identifiers only.
[[ "$dbname" =~ ^[a-z_][a-z0-9_]*$ ]] || ci_die "database name must match [a-z_][a-z0-9_]*: $dbname"

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"

# ---------------------------------------------------------------------------------------
# 1. A reachable server, and a superuser role that needs no password.
# ---------------------------------------------------------------------------------------
if ! ci_pg_ready "$PGHOST" "$PGPORT"; then
  if [[ "$PGHOST" == 127.0.0.1 && "$PGPORT" == 5432 ]] && ci_pg_start_debian_cluster; then
    :
  else
    ci_die "no PostgreSQL accepting connections on $PGHOST:$PGPORT (set PGHOST/PGPORT, or run .ci/run which can start a throwaway cluster)"
  fi
fi
CI_PG_ROLE="$(ci_pg_detect_role)" || ci_die "no superuser role with trust auth on $PGHOST:$PGPORT (tried ${PGUSER:-} postgres root)"
export CI_PG_ROLE

server_num="$(ci_psql -d postgres -c 'SHOW server_version_num')"
major=$(( server_num / 10000 ))   # 150020 -> 15 (PostgreSQL >= 10 numbering)
ci_log "server $PGHOST:$PGPORT is PostgreSQL $major ($server_num), role $CI_PG_ROLE"

vector_available() {
  [[ "$(ci_psql -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" == 1 ]]
}

# ---------------------------------------------------------------------------------------
# 2. Build and install pgvector if the server does not offer it yet.
# ---------------------------------------------------------------------------------------

# Base URL of the Debian archive this machine's apt uses (e.g. http://deb.debian.org/debian),
# read from one-line (.list) and deb822 (.sources) files. Security and third-party
# repositories have no pgvector pool, so skip them.
debian_mirror() {
  local url
  url="$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      sed -E 's/\[[^]]*\]//' |
      awk '$1 == "deb" || $1 == "deb-src" { print $2 } $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' |
      grep -E '^https?://' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true
  )"
  echo "${url%/}"
}

fetch() { # fetch URL FILE
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  else wget -q --tries=3 -O "$2" "$1"; fi
}

ensure_build_tools() {
  local missing=()
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then missing+=(curl ca-certificates); fi
  if ((${#missing[@]})); then
    ci_log "installing missing build tools: ${missing[*]}"
    # --no-install-recommends: only what the build needs; no upgrade of anything else.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
  fi
}

build_pgvector() {
  [[ $EUID -eq 0 ]] || ci_die "pgvector is missing and installing it needs root (make install writes into the server's directories)"

  # Where the *running* server looks for extensions. Its own pg_config view tells us, so
  # we build against exactly that installation (not whatever pg_config is first on PATH).
  local bindir pkglibdir sharedir
  bindir="$(ci_psql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'BINDIR'")"
  pkglibdir="$(ci_psql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")"
  sharedir="$(ci_psql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")"
  [[ -d "$pkglibdir" && -d "$sharedir/extension" ]] ||
    ci_die "server's extension dirs ($pkglibdir, $sharedir/extension) are not on this machine: is $PGHOST:$PGPORT a remote server?"
  local pg_config="$bindir/pg_config"
  [[ -x "$pg_config" ]] || ci_die "$pg_config not found (it comes with postgresql-client-$major)"
  [[ "$("$pg_config" --version)" =~ ^PostgreSQL\ $major\. ]] || ci_die "$pg_config is not PostgreSQL $major"

  ensure_build_tools

  local work
  work="$(mktemp -d /tmp/ensure-pgvector.XXXXXX)"
  # shellcheck disable=SC2064 # expand $work now
  trap "rm -rf '$work'" EXIT

  # Source: Debian's pristine upstream tarball, checked against a pinned sha256.
  local mirror tarball
  mirror="$(debian_mirror)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  tarball="pgvector_${PGVECTOR_VERSION}.orig.tar.gz"
  ci_log "downloading $mirror/pool/main/p/pgvector/$tarball"
  fetch "$mirror/pool/main/p/pgvector/$tarball" "$work/$tarball" ||
    ci_die "download failed; if the archive no longer carries $PGVECTOR_VERSION, set PGVECTOR_VERSION and PGVECTOR_SHA256 to the version in $mirror/pool/main/p/pgvector/"
  echo "$PGVECTOR_SHA256  $work/$tarball" | sha256sum -c --quiet - >&2 ||
    ci_die "sha256 mismatch for $tarball"
  tar -xzf "$work/$tarball" -C "$work"
  local src
  src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector*' | head -n1)"
  [[ -n "$src" ]] || ci_die "unexpected tarball layout"

  # Server headers: download (not install) postgresql-server-dev-<major>, ideally the exact
  # version of the installed server package, and unpack it privately.
  local server_pkg_ver
  server_pkg_ver="$(dpkg-query -W -f='${Version}' "postgresql-$major" 2>/dev/null || true)"
  mkdir -p "$work/deb"
  apt_download() {
    # APT::Sandbox::User=root: the temp dir is private to root, so apt's _apt user could not write it.
    (cd "$work/deb" && {
      { [[ -n "$server_pkg_ver" ]] && apt-get download -q -o APT::Sandbox::User=root "postgresql-server-dev-$major=$server_pkg_ver"; } ||
        apt-get download -q -o APT::Sandbox::User=root "postgresql-server-dev-$major"
    }) >&2
  }
  if ! apt_download; then
    # A fresh machine may have no (or stale) package lists. `update` only refreshes lists.
    ci_log "apt-get download failed; refreshing package lists and retrying"
    apt-get update -q >&2
    apt_download
  fi
  dpkg-deb -x "$work"/deb/postgresql-server-dev-"$major"_*.deb "$work/dev"
  local includedir_server="$work/dev/usr/include/postgresql/$major/server"
  [[ -f "$includedir_server/postgres.h" ]] || ci_die "no server headers in the postgresql-server-dev-$major package"

  # with_llvm=no: skip the LLVM bitcode for JIT (would need clang, which we do not install).
  # includedir_server: point PGXS at the unpacked headers instead of /usr/include.
  # OPTFLAGS=: pgvector defaults to -march=native; an empty value gives a portable binary
  #   (what pgvector's README recommends when the build machine may differ from the one
  #   running it), so a machine image reused on another CPU cannot hit SIGILL.
  local make_args=(PG_CONFIG="$pg_config" with_llvm=no OPTFLAGS= "includedir_server=$includedir_server")
  ci_log "building pgvector $PGVECTOR_VERSION for PostgreSQL $major"
  make -C "$src" -s -j"$(nproc)" "${make_args[@]}" >&2
  make -C "$src" -s "${make_args[@]}" install >&2
  rm -rf "$work"
  trap - EXIT
}

if vector_available; then
  ci_log "pgvector already available on the server: nothing to build"
else
  # Serialise concurrent runs (CI + a developer, two benchmarks): one builds, the others
  # wait and then find it installed.
  exec 9>/tmp/ensure-pgvector.lock
  flock 9
  if vector_available; then
    ci_log "pgvector was installed meanwhile by another run"
  else
    build_pgvector
    vector_available || ci_die "pgvector installed, but the server still does not list it"
    ci_log "pgvector $PGVECTOR_VERSION installed into $(ci_psql -d postgres -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")"
  fi
  flock -u 9
fi

# ---------------------------------------------------------------------------------------
# 3. The database, with the extension created in it (proves the .so really loads).
# ---------------------------------------------------------------------------------------
if ((recreate)); then
  # FORCE: a crashed earlier run may have left connections open.
  ci_psql -d postgres -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)"
fi
if [[ "$(ci_psql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$dbname'")" != 1 ]]; then
  ci_psql -d postgres -c "CREATE DATABASE $dbname"
fi
ci_psql -d "$dbname" -c 'CREATE EXTENSION IF NOT EXISTS vector'
check="$(ci_psql -d "$dbname" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
dist="$(ci_psql -d "$dbname" -c "SELECT round(('[1,2,3]'::vector <=> '[1,2,4]'::vector)::numeric, 4)")"
ci_log "database $dbname ready: vector $check (cosine distance sanity check: $dist)"

echo "postgresql://$CI_PG_ROLE@$PGHOST:$PGPORT/$dbname"
