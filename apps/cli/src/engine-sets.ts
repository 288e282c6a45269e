import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Report } from "@keyhole/conformance";
import { type EngineSet, provisionedEngineSets } from "@keyhole/core";
import type { BackendStrategy } from "./strategies.js";

/** Where `keyhole compare` runs: `all` sets (default), only the host's engines, or one set by name. */
export type EngineSelection = "all" | "host" | string;

/** The sets `selection` names: the host's (`"host"`), every provisioned one, or one by name. */
export function selectEngineSets(
  selection: EngineSelection,
  provisioned: readonly EngineSet[] = provisionedEngineSets(),
): { host: boolean; sets: EngineSet[] } {
  if (selection === "host") return { host: true, sets: [] };
  if (selection === "all") return { host: true, sets: [...provisioned] };
  return { host: false, sets: provisioned.filter((s) => s.name === selection) };
}

/** The strategies that can run on `set`, each creating its backend on the set's engines. */
export function strategiesForSet(
  strategies: readonly BackendStrategy[],
  set: EngineSet,
): BackendStrategy[] {
  return strategies.flatMap((s) => {
    const forSet = s.forSet;
    if (!forSet) return [];
    return [{ ...s, notHere: () => undefined, create: () => forSet(set) }];
  });
}

/**
 * Runs `keyhole compare --engines <set>` in a child process (testcontainers binds one Docker
 * endpoint per process, and a set's passes run side by side with the host's this way) and
 * returns its JSON report. `args` are the parent's `--backend` / `--check` options.
 */
export async function compareInChild(
  bin: string,
  set: EngineSet,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-set-report-"));
  const out = join(dir, "report.json");
  try {
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          bin,
          "compare",
          "--engines",
          set.name,
          "--format",
          "json",
          "--out",
          out,
          "--quiet",
          ...args,
        ],
        { env, stdio: ["ignore", "ignore", "pipe"] },
      );
      let err = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (c: string) => {
        err = (err + c).slice(-4000);
      });
      child.on("error", reject);
      child.on("close", () => resolve(err));
    });
    try {
      return JSON.parse(readFileSync(out, "utf8")) as Report;
    } catch {
      throw new Error(
        `keyhole compare on the ${set.name} engine set wrote no report: ${stderr.trim()}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
