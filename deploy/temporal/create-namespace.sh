#!/bin/sh
# One-shot: creates the namespace Refundflow runs in, with its retention, and
# registers the contract's search attributes. Safe to run again: an existing
# namespace is brought to the stated retention, and creating a search
# attribute that exists with the same type succeeds.
#
# Retention is how long a closed remediation stays: while it does, a second
# webhook for the same transaction is answered "duplicate". After it, the
# workflow is deleted and the transaction ID could start a new one, so keep
# it longer than any redelivery or replay of a webhook you expect
# (docs/production.md).
#
# docker-compose.yml runs it in the temporalio/admin-tools image; `make
# prod-local` with TEMPORAL_CLI=bin/temporal.
set -eu

: "${TEMPORAL_CLI:=temporal}"
: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=2160h}"

echo "waiting for Temporal at $TEMPORAL_ADDRESS..."
i=0
until "$TEMPORAL_CLI" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 90 ] || {
		echo "Temporal did not become healthy" >&2
		exit 1
	}
	sleep 2
done

if "$TEMPORAL_CLI" operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
	"$TEMPORAL_CLI" operator namespace update --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
	echo "namespace $NAMESPACE exists; retention $NAMESPACE_RETENTION"
else
	"$TEMPORAL_CLI" operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
	echo "namespace $NAMESPACE created; retention $NAMESPACE_RETENTION"
fi

# The namespace cache needs a moment before a new namespace takes attributes.
i=0
until "$TEMPORAL_CLI" operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
	--name TransactionId --type Keyword \
	--name DispositionCode --type Keyword \
	--name RemediationState --type Keyword \
	--name ConversationId --type Keyword; do
	i=$((i + 1))
	[ "$i" -lt 15 ] || exit 1
	sleep 2
done

# Each service of the server caches namespaces and re-reads them every 2s
# (system.namespaceCacheRefreshInterval): until it has, starting a workflow
# with these attributes fails ("no mapping defined for search attribute").
# Ready means usable: wait for the frontend to accept a query naming all
# four, then one more refresh for the history service, which checks the
# attributes a workflow sets.
i=0
until "$TEMPORAL_CLI" workflow count --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
	--query 'TransactionId = "ready" AND DispositionCode = "ready" AND RemediationState = "ready" AND ConversationId = "ready"' >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || {
		echo "the search attributes are not usable after a minute" >&2
		exit 1
	}
	sleep 1
done
sleep 3
echo "namespace $NAMESPACE is ready (search attributes usable after ${i}s)"
