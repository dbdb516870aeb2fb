#!/bin/sh
# One-shot: creates the namespace Refundflow runs in, with its retention, and
# registers the contract's search attributes. Safe to run again: an existing
# namespace is kept (its retention is not changed here), and creating a
# search attribute that exists with the same type succeeds.
#
# Retention is how long a closed remediation stays: while it does, a second
# webhook for the same transaction is answered "duplicate". After it, the
# workflow is deleted and the transaction ID could start a new one, so keep
# it longer than any redelivery or replay of a webhook you expect.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=2160h}"

echo "waiting for Temporal at $TEMPORAL_ADDRESS..."
i=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 90 ] || { echo "Temporal did not become healthy" >&2; exit 1; }
	sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
	echo "namespace $NAMESPACE exists"
else
	temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
fi

# The namespace cache needs a moment before a new namespace takes attributes.
i=0
until temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
	--name TransactionId --type Keyword \
	--name DispositionCode --type Keyword \
	--name RemediationState --type Keyword \
	--name ConversationId --type Keyword; do
	i=$((i + 1))
	[ "$i" -lt 15 ] || exit 1
	sleep 2
done
echo "namespace $NAMESPACE is ready"
