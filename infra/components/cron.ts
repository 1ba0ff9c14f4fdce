// What every scheduled job of the stack shares: one run at a time, a missed
// run may still start within the hour, and a few finished Jobs stay for their logs.
export const CRON_DEFAULTS = {
  concurrencyPolicy: "Forbid",
  startingDeadlineSeconds: 3600,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 3,
};
