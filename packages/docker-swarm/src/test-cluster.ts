// Test helper: brings up a real multi-node swarm with the repository's scripts/cluster.mjs (a
// name of its own per test file, so files never share one) and takes it down again.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { SwarmClusterMap } from "./cluster-map.js";
import { swarmClusterMapPath } from "./cluster-map.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/cluster.mjs", import.meta.url));
const exec = promisify(execFile);

/** Runs `scripts/cluster.mjs <args> --name <name>`; throws with its output when it fails. */
export async function clusterCommand(name: string, ...args: string[]): Promise<string> {
  try {
    const r = await exec(process.execPath, [SCRIPT, ...args, "--name", name], {
      timeout: 240_000,
    });
    return r.stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `scripts/cluster.mjs ${args.join(" ")} --name ${name} failed: ${e.stderr || e.message}\n${e.stdout ?? ""}`,
    );
  }
}

/** Brings cluster `name` up (after taking down whatever a crashed run left) and reads its map. */
export async function clusterUp(name: string, ...args: string[]): Promise<SwarmClusterMap> {
  await clusterCommand(name, "down");
  await clusterCommand(name, "up", ...args);
  const { readFileSync } = await import("node:fs");
  return JSON.parse(readFileSync(swarmClusterMapPath(name), "utf8")) as SwarmClusterMap;
}
