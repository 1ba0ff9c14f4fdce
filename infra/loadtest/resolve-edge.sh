#!/bin/sh
# Init step of the in-cluster drill: k6's `hosts` option maps a name to an
# address only, so look up the edge Service's cluster address once and leave
# it where drill.js reads it. The drill then sends its requests for the public
# host name through the edge (TLS, WAF, rate limit), as a user's would go.
set -eu
addr=$(getent hosts "$EDGE_SERVICE_HOST" | awk '{ print $1; exit }')
if [ -z "$addr" ]; then
  echo "resolve-edge: cannot resolve $EDGE_SERVICE_HOST (is the Gateway programmed?)" >&2
  exit 1
fi
echo "$addr" >"$EDGE_ADDR_FILE"
echo "resolve-edge: $EDGE_SERVICE_HOST is $addr"
