#!/bin/sh
# One-shot schema setup for Temporal on PostgreSQL: creates the two databases
# (history and visibility) and brings each schema to the version the server
# needs. Safe to run on every start: an existing database is kept,
# setup-schema leaves a schema already past 0.0 alone, and update-schema
# applies only the versions that are missing.
#
# docker-compose.yml runs it in the temporalio/admin-tools image (its
# temporal-sql-tool and /etc/temporal/schema); `make prod-local` runs it with
# bin/temporal-sql-tool and the schema folder of the server module in the Go
# module cache (deploy/local/setup-schema.sh). The tool reads SQL_HOST,
# SQL_PORT, SQL_USER, SQL_PASSWORD and SQL_PLUGIN from the environment, so
# the password never appears in a process list.
set -eu

: "${SQL_TOOL:=temporal-sql-tool}"
: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:=temporal}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
: "${TEMPORAL_DB:=temporal}"
: "${VISIBILITY_DB:=temporal_visibility}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

# create_db NAME: creates the database unless it exists. PostgreSQL may still
# be starting, so a refused connection is tried again for a minute; any other
# error is final.
create_db() {
	i=0
	while :; do
		if out=$("$SQL_TOOL" --database "$1" create-database 2>&1); then
			echo "created database $1"
			return 0
		fi
		case "$out" in
		*"already exists"*)
			echo "database $1 exists"
			return 0
			;;
		*"connection refused"* | *"starting up"* | *"no such host"*) ;;
		*)
			echo "$out" >&2
			exit 1
			;;
		esac
		i=$((i + 1))
		if [ "$i" -ge 60 ]; then
			echo "$out" >&2
			echo "PostgreSQL did not answer at $SQL_HOST:$SQL_PORT" >&2
			exit 1
		fi
		sleep 1
	done
}

# setup_db NAME SCHEMA: versioning tables, then every missing schema version.
setup_db() {
	"$SQL_TOOL" --database "$1" setup-schema -v 0.0
	"$SQL_TOOL" --database "$1" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

create_db "$TEMPORAL_DB"
setup_db "$TEMPORAL_DB" temporal
create_db "$VISIBILITY_DB"
setup_db "$VISIBILITY_DB" visibility
echo "Temporal schemas are up to date"
