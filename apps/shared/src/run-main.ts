// The one way every entry point starts and ends: the same exit code for the
// same failure, one line on stderr (no stack) for a bad configuration, and
// unhandled rejections logged and fatal (a process in an unknown state is
// restarted rather than left serving).
import { ConfigError } from "./env";

/** Exit codes of every entry point (services, jobs, one-shot commands). */
export const EXIT = { ok: 0, failed: 1, badConfig: 2 } as const;

/**
 * Runs main. A number it returns becomes the exit code (jobs); a service's
 * main returns once it is serving and the process lives on its handles.
 */
export function runMain(name: string, main: () => Promise<unknown>): void {
  const fail = (what: string, err: unknown, code: number) => {
    process.stderr.write(`${name}: ${what}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(code);
  };
  process.on("unhandledRejection", (err) => fail("unhandled rejection: ", err, EXIT.failed));
  main().then(
    (code) => {
      if (typeof code === "number") process.exitCode = code;
    },
    (err: unknown) =>
      err instanceof ConfigError ? fail("", err, EXIT.badConfig) : fail("failed: ", err, EXIT.failed),
  );
}
