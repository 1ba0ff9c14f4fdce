// What every scheduled job of the stack shares: one run at a time, a missed
// run may still start within the hour, and a few finished Jobs stay for their logs.
export const CRON_DEFAULTS = {
  concurrencyPolicy: "Forbid",
  startingDeadlineSeconds: 3600,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 3,
};

/**
 * A CronJob that is only a template: it never fires on its own, and
 * `kubectl create job --from=cronjob/...` starts a run (the drill, the preflight).
 */
export const TRIGGERED_ONLY = {
  suspend: true,
  schedule: "0 0 1 1 *",
  concurrencyPolicy: "Forbid",
};
