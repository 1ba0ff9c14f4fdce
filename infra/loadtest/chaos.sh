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

# One line per pod: name|deletionTimestamp|Ready. A pod being deleted (an
# earlier victim or a rollout's old pod, still draining and maybe still
# Ready) is not a replica: counted as one, the step once waited for four pods
# of three and failed the drill after its whole timeout.
pods() {
  kubectl get pods -n "$ns" -l "$sel" \
    -o jsonpath='{range .items[*]}{.metadata.name}|{.metadata.deletionTimestamp}|{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
}
live_count() { pods | awk -F'|' '$1 != "" && $2 == "" {n++} END {print n + 0}'; }
ready_count() { pods | awk -F'|' '$1 != "" && $2 == "" && $3 == "True" {n++} END {print n + 0}'; }

total=$(live_count)
ready=$(ready_count)
echo "chaos: steady state check: $ready/$total feed pods ready"
if [ "$total" -lt 2 ] || [ "$ready" -ne "$total" ]; then
  echo "chaos: FAILED: not in steady state (need at least 2 replicas, all ready); refusing to act"
  exit 1
fi

sleep "$CHAOS_DELAY_SECONDS"
victim=$(pods | awk -F'|' '$1 != "" && $2 == "" {print $1; exit}')
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
