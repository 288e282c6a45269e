import { clusterChecks } from "./cluster.js";
import { envChecks } from "./env.js";
import { fileChecks } from "./file.js";
import { hygieneChecks } from "./hygiene.js";
import { lifecycleChecks } from "./lifecycle.js";
import { limitsChecks } from "./limits.js";
import { onceChecks } from "./once.js";
import { restChecks } from "./rest.js";
import type { CheckImpl } from "./types.js";

/**
 * How each catalogue check measures, by id. `hygiene.report-redacted` is absent on purpose:
 * the runner judges it over the finished report.
 */
export const IMPLEMENTATIONS: Readonly<Record<string, CheckImpl>> = {
  ...envChecks,
  ...fileChecks,
  ...restChecks,
  ...lifecycleChecks,
  ...limitsChecks,
  ...clusterChecks,
  ...onceChecks,
  ...hygieneChecks,
};
