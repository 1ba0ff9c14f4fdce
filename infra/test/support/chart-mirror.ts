import { existsSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../stack-files";

/**
 * The pinned charts, packaged, where the chart repositories cannot be reached
 * (these machines: ../shared/charts). Elsewhere the releases pull from upstream.
 */
export const CHART_MIRROR =
  process.env.GOLIVE_CHART_MIRROR ??
  (existsSync(path.resolve(REPO_ROOT, "..", "shared", "charts"))
    ? path.resolve(REPO_ROOT, "..", "shared", "charts")
    : undefined);
