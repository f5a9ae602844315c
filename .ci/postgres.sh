#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages (if missing), starts a cluster on 127.0.0.1
# and prints the URL for the tests: `export MEDAID_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)`.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='medaid'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE ROLE medaid LOGIN SUPERUSER PASSWORD 'medaid'\"" >&2
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='medaid_test'\"" | grep -q 1 ||
  su postgres -c "createdb -O medaid medaid_test" >&2
echo "postgresql+psycopg://medaid:medaid@127.0.0.1:5432/medaid_test"
