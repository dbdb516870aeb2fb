#!/bin/sh
# One-shot schema setup for Temporal on PostgreSQL: creates the two databases
# (history and visibility) and brings each schema to the version the server
# image needs. Safe to run on every `docker compose up`: an existing database
# is kept, setup-schema skips a schema already past 0.0, and update-schema
# applies only the versions that are missing.
#
# Runs in the temporalio/admin-tools image, whose temporal-sql-tool reads
# SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD and SQL_PLUGIN from the
# environment (so the password never appears in a process list).
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
: "${TEMPORAL_DB:=temporal}"
: "${VISIBILITY_DB:=temporal_visibility}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

echo "waiting for PostgreSQL at $SQL_HOST:$SQL_PORT..."
i=0
until nc -z "$SQL_HOST" "$SQL_PORT"; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || { echo "PostgreSQL did not answer" >&2; exit 1; }
	sleep 1
done

# create_db NAME: creates the database unless it exists.
create_db() {
	if out=$(temporal-sql-tool create-database --database "$1" 2>&1); then
		echo "created database $1"
	elif echo "$out" | grep -q "already exists"; then
		echo "database $1 exists"
	else
		echo "$out" >&2
		exit 1
	fi
}

# setup_db NAME SCHEMA: versioning tables, then every missing schema version.
setup_db() {
	temporal-sql-tool --database "$1" setup-schema -v 0.0
	temporal-sql-tool --database "$1" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

create_db "$TEMPORAL_DB"
setup_db "$TEMPORAL_DB" temporal
create_db "$VISIBILITY_DB"
setup_db "$VISIBILITY_DB" visibility
echo "Temporal schemas are up to date"
