import { provisionedEngineSets } from "@keyhole/core";
import { colorEnabled, paint } from "./ansi.js";
import { strategiesForSet } from "./engine-sets.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import {
  type BackendStrategy,
  type Diagnosis,
  diagnose,
  type HostView,
  REAL_HOST,
  STRATEGIES,
} from "./strategies.js";

/**
 * `keyhole doctor`: says for every backend whether it is ready, missing (engine not installed)
 * or broken (installed but not answering), with the exact command that fixes it. Exits 0 when
 * at least one backend is ready, else 3.
 */
export async function doctorCommand(
  options: { noColor: boolean },
  io: CliIO,
  strategies: readonly BackendStrategy[] = STRATEGIES,
  host: HostView = REAL_HOST,
): Promise<ExitCode> {
  const color = colorEnabled({
    noColorFlag: options.noColor,
    env: io.env,
    isTTY: io.stdout.isTTY === true,
  });
  // Side by side, like compare: each check waits on its own engine.
  const all = [...strategies];
  // The other Debian release's engines (engine sets), when doctoring the real backends.
  if (strategies === STRATEGIES) {
    for (const set of provisionedEngineSets()) {
      for (const s of strategiesForSet(strategies, set))
        all.push({ ...s, id: `${s.id}@${set.name}` });
    }
  }
  const results: Diagnosis[] = await Promise.all(all.map((s) => diagnose(s, host)));
  io.stdout.write(formatDiagnoses(results, color));
  return results.some((r) => r.status === "ready") ? EXIT.ok : EXIT.noBackend;
}

/** The doctor's report: one line per backend, and an indented fix line under each problem. Pure. */
export function formatDiagnoses(results: readonly Diagnosis[], color = false): string {
  const width = Math.max(...results.map((r) => r.id.length));
  const lines: string[] = [];
  for (const r of results) {
    const id = r.id.padEnd(width);
    if (r.status === "ready") {
      lines.push(`${id}  ${paint(color, "ready  ", "green")}  ${r.version}`);
    } else {
      lines.push(
        `${id}  ${paint(color, r.status.padEnd(7), r.status === "missing" ? "yellow" : "red")}  ${r.reason}`,
      );
      lines.push(`${" ".repeat(width)}  fix:     ${r.fix}`);
    }
  }
  const ready = results.filter((r) => r.status === "ready").length;
  lines.push("");
  lines.push(
    ready === 0
      ? "No backend is ready: run the fix commands above, then `keyhole doctor` again."
      : `${ready} of ${results.length} backends ready; \`keyhole compare\` runs on ${ready === 1 ? "it" : "them"}.`,
  );
  return `${lines.join("\n")}\n`;
}
