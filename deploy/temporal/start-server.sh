#!/bin/sh
# Starts the Temporal server with config/refundflow-postgres.yaml next to
# this script. docker-compose.yml's temporal service and `make prod-local`
# (deploy/prod-local.sh) both start it through here, so the two run the same
# configuration the same way.
#
# Reads: TEMPORAL_SERVER_BIN (default temporal-server, as in the
# temporalio/server image), BIND_ON_IP (default 127.0.0.1; 0.0.0.0 in a
# container), and the variables the config file names (POSTGRES_*, DB_PORT,
# the service ports, LOG_LEVEL).
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
: "${TEMPORAL_SERVER_BIN:=temporal-server}"
: "${BIND_ON_IP:=127.0.0.1}"
: "${DYNAMIC_CONFIG_FILE_PATH:=$here/dynamicconfig/refundflow.yaml}"

# Bound to every interface, the services must tell the membership ring an
# address the others can reach: the container's own.
if [ "$BIND_ON_IP" = "0.0.0.0" ] && [ -z "${TEMPORAL_BROADCAST_ADDRESS:-}" ]; then
	TEMPORAL_BROADCAST_ADDRESS="$(getent hosts "$(hostname)" | awk '{ print $1; exit }')"
	export TEMPORAL_BROADCAST_ADDRESS
fi
export BIND_ON_IP DYNAMIC_CONFIG_FILE_PATH

# --allow-no-auth says out loud what this shape relies on: the frontend is
# reachable only by Refundflow's own programs (loopback here, the compose
# network there). On a shared network add TLS and an authorizer
# (docs/production.md).
exec "$TEMPORAL_SERVER_BIN" --root "$here" --config config --env refundflow-postgres --allow-no-auth start
