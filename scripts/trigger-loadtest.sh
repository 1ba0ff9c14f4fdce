#!/usr/bin/env bash
# Starts the in-cluster go-live drill for a stack: creates a Job from the
# suspended CronJob template, streams its logs (every line time-stamped, so a
# failure can be placed in the chaos step's window), and exits with its
# verdict (0 when k6's thresholds held and the chaos step saw recovery; 1 when
# it failed; 124 when it gave no verdict in time, after deleting the Job so a
# stuck drill stops loading the stack). deploy.yml gates prod on it, and the
# real-pods lane (infra/test/drill.e2e.test.ts) runs this same script.
# Usage: npm run loadtest:trigger -- <staging|prod|local> [timeout-seconds]
set -euo pipefail
stack="${1:?usage: npm run loadtest:trigger -- <staging|prod|local> [timeout-seconds]}"
timeout_s="${2:-3900}"
case "$stack" in staging | prod | local) ;; *) echo "unknown stack: $stack" >&2; exit 2 ;; esac
ns="golive-${stack}-loadtest"
job="golive-drill-$(date +%Y%m%d-%H%M%S)"

kubectl -n "$ns" create job "$job" --from=cronjob/golive-drill
echo "started job $ns/$job"

deadline=$(($(date +%s) + timeout_s))
verdict=""
logs_pid=""
while [ "$(date +%s)" -lt "$deadline" ]; do
  # Follow the logs once the pod's containers have started (init steps done).
  if [ -z "$logs_pid" ]; then
    phase=$(kubectl -n "$ns" get pods -l "job-name=$job" -o jsonpath='{.items[0].status.phase}' 2>/dev/null || true)
    case "$phase" in
      Running | Succeeded | Failed)
        kubectl -n "$ns" logs -f "job/$job" --all-containers --prefix --timestamps --max-log-requests=4 &
        logs_pid=$!
        ;;
    esac
  fi
  succeeded=$(kubectl -n "$ns" get job "$job" -o jsonpath='{.status.succeeded}')
  failed=$(kubectl -n "$ns" get job "$job" -o jsonpath='{.status.failed}')
  if [ "${succeeded:-0}" -ge 1 ]; then verdict=pass; break; fi
  if [ "${failed:-0}" -ge 1 ]; then verdict=fail; break; fi
  sleep 2
done
# The containers have ended: let the stream deliver their last lines (k6's table).
if [ -n "$logs_pid" ]; then
  for _ in $(seq 1 15); do kill -0 "$logs_pid" 2>/dev/null || break; sleep 1; done
  kill "$logs_pid" 2>/dev/null || true
fi
case "$verdict" in
  pass) echo "drill $job: PASS"; exit 0 ;;
  fail) echo "drill $job: FAIL (see the logs above and the drill dashboard)"; exit 1 ;;
  *)
    echo "drill $job: no verdict within ${timeout_s}s; deleting the Job"
    kubectl -n "$ns" delete job "$job" --wait=false >/dev/null 2>&1 || true
    exit 124
    ;;
esac
