// One connection for a Job's step (db-roles), made once the database answers.
// On the real node, the migrations Job replaced by a superuser rotation
// started before the restarted Postgres was routable (its Service had no
// endpoint yet: ENETUNREACH), and the attempt failed; the Job's own retry
// came 10 s later and counted against its backoffLimit. Refused, unreachable
// or starting servers are tried again each second for up to `waitMs`; any
// other failure (a refused login, a bad URL) ends it at once.
import { ConstantBackoff, handleWhen, retry } from "cockatiel";
import { Client, type ClientConfig } from "pg";
import { toDomainError } from "../errors";

export async function connectWhenReachable(
  config: ClientConfig,
  opts: { waitMs: number; onWait: (err: Error) => void },
): Promise<Client> {
  const policy = retry(
    handleWhen((err) => toDomainError(err).code === "unavailable"),
    { maxAttempts: Math.max(0, Math.ceil(opts.waitMs / 1000)), backoff: new ConstantBackoff(1000) },
  );
  policy.onRetry((reason) => {
    if ("error" in reason) opts.onWait(reason.error);
  });
  return policy.execute(async () => {
    const client = new Client(config);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  });
}
