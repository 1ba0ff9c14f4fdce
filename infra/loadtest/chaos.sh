#!/bin/sh
# Chaos step of the in-cluster drill, run beside k6 in the same pod: check that
# this identity may delete pods at all (a drill whose chaos step cannot act
# must fail, not pass without chaos), check the steady state, delete one feed
# pod mid-run, and require every replica to be ready again within a bound.
# Its exit code is part of the Job's verdict.
set -eu
ns="$TARGET_NAMESPACE"
sel="$TARGET_SELECTOR"

if [ "$(kubectl auth can-i delete pods -n "$ns" 2>&1)" != "yes" ]; then
  echo "chaos: FAILED: this ServiceAccount may not delete pods in $ns (RBAC: Role and RoleBinding pod-chaos)"
  exit 1
fi

ready_count() {
  kubectl get pods -n "$ns" -l "$sel" \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    grep -c '^True$' || true
}

total=$(kubectl get pods -n "$ns" -l "$sel" --no-headers | wc -l | tr -d ' ')
ready=$(ready_count)
echo "chaos: steady state check: $ready/$total feed pods ready"
if [ "$total" -lt 2 ] || [ "$ready" -ne "$total" ]; then
  echo "chaos: FAILED: not in steady state (need at least 2 replicas, all ready); refusing to act"
  exit 1
fi

sleep "$CHAOS_DELAY_SECONDS"
victim=$(kubectl get pods -n "$ns" -l "$sel" -o jsonpath='{.items[0].metadata.name}')
echo "chaos: deleting pod $victim"
kubectl delete pod -n "$ns" "$victim" --wait=false
start=$(date +%s)
deadline=$((start + RECOVERY_TIMEOUT_SECONDS))
sleep 2
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ "$(ready_count)" -ge "$total" ] && ! kubectl get pod -n "$ns" "$victim" >/dev/null 2>&1; then
    echo "chaos: recovered: $total/$total ready after $(($(date +%s) - start))s"
    exit 0
  fi
  sleep 2
done
echo "chaos: FAILED: not all $total replicas ready within ${RECOVERY_TIMEOUT_SECONDS}s"
exit 1
