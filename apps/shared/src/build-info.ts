// Which build a process is: stamped into the image when it is built
// (GOLIVE_VERSION and GOLIVE_COMMIT, build arguments the Dockerfile turns
// into environment; images.yml passes the app's package version and the Git
// commit), shown by every health endpoint and as golive_build_info, so a
// probe answer or a dashboard says which build answered.
export interface BuildInfo {
  version: string;
  commit: string;
}

/** Outside an image (tests, `npm run dev`) there is no stamp: `dev` and `unknown`. */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  return { version: env.GOLIVE_VERSION || "dev", commit: env.GOLIVE_COMMIT || "unknown" };
}
