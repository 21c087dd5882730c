#!/bin/sh
# One-shot, run by the `temporal-namespace` service of docker-compose.yml once the server is up:
# registers the namespace the API and the worker use (TEMPORAL_NAMESPACE), unless it exists.
# The temporalio/server image, unlike the deprecated auto-setup image, creates no namespace itself.
set -eu

address="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
namespace="${NAMESPACE:-default}"
retention="${RETENTION:-720h}"

tries=0
until temporal operator cluster health --address "${address}" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "${tries}" -ge 60 ]; then
    echo "temporal-namespace: the Temporal server at ${address} is not healthy" >&2
    exit 1
  fi
  echo "temporal-namespace: waiting for the Temporal server at ${address}"
  sleep 3
done

# Retried: a server that has just become healthy can still refuse namespace calls for a moment.
tries=0
while :; do
  if temporal operator namespace describe --namespace "${namespace}" --address "${address}" >/dev/null 2>&1; then
    echo "temporal-namespace: namespace ${namespace} exists"
    exit 0
  fi
  if temporal operator namespace create --namespace "${namespace}" --retention "${retention}" --address "${address}"; then
    echo "temporal-namespace: created namespace ${namespace} (closed workflows kept ${retention})"
    exit 0
  fi
  tries=$((tries + 1))
  if [ "${tries}" -ge 20 ]; then
    echo "temporal-namespace: could not create namespace ${namespace}" >&2
    exit 1
  fi
  sleep 3
done
