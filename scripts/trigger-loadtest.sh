#!/usr/bin/env bash
# Starts the in-cluster go-live drill for a stack: creates a Job from the
# suspended CronJob template, streams its logs, and exits with its verdict
# (0 when k6's thresholds held and the chaos step saw recovery; 1 when it
# failed; 124 when it gave no verdict in time, after deleting the Job so a
# stuck drill stops loading the stack). deploy.yml gates prod on it.
# Usage: npm run loadtest:trigger -- <staging|prod|local> [timeout-seconds]
set -euo pipefail
stack="${1:?usage: npm run loadtest:trigger -- <staging|prod|local> [timeout-seconds]}"
timeout_s="${2:-3900}"
case "$stack" in staging | prod | local) ;; *) echo "unknown stack: $stack" >&2; exit 2 ;; esac
ns="golive-${stack}-loadtest"
job="golive-drill-$(date +%Y%m%d-%H%M%S)"

kubectl -n "$ns" create job "$job" --from=cronjob/golive-drill
echo "started job $ns/$job"
kubectl -n "$ns" wait --for=condition=Ready pod -l "job-name=$job" --timeout=300s >/dev/null 2>&1 || true
kubectl -n "$ns" logs -f "job/$job" --all-containers --prefix --max-log-requests=4 2>/dev/null &
logs_pid=$!

deadline=$(($(date +%s) + timeout_s))
verdict=""
while [ "$(date +%s)" -lt "$deadline" ]; do
  succeeded=$(kubectl -n "$ns" get job "$job" -o jsonpath='{.status.succeeded}')
  failed=$(kubectl -n "$ns" get job "$job" -o jsonpath='{.status.failed}')
  if [ "${succeeded:-0}" -ge 1 ]; then verdict=pass; break; fi
  if [ "${failed:-0}" -ge 1 ]; then verdict=fail; break; fi
  sleep 5
done
kill "$logs_pid" 2>/dev/null || true
case "$verdict" in
  pass) echo "drill $job: PASS"; exit 0 ;;
  fail) echo "drill $job: FAIL (see the logs above and the drill dashboard)"; exit 1 ;;
  *)
    echo "drill $job: no verdict within ${timeout_s}s; deleting the Job"
    kubectl -n "$ns" delete job "$job" --wait=false >/dev/null 2>&1 || true
    exit 124
    ;;
esac
