#!/usr/bin/env bash
# PostgreSQL for tests/test_sql_postgres.py, which starts and stops its own throwaway cluster
# (initdb in a temporary directory, a free loopback port). Only the binaries are needed here:
# initdb and pg_ctl (package postgresql) and psql (postgresql-client). Run as root.
set -euo pipefail
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || ! command -v psql >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client
fi
# The package starts a cluster of its own on install; the tests do not use it.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version name _; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  done
fi
