import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type EngineStoragePath, EngineUnavailableError, keyholeStateDir } from "@keyhole/core";
import type { ComposeBackendOptions } from "./compose-backend.js";

/** The command that provisions and starts the other Debian release's engines. */
export const ENGINE_SET_FIX = "node scripts/engine-set.mjs up";

/**
 * Options that point a compose backend at the Docker Engine of an engine set provisioned by
 * keyhole's scripts (`node scripts/engine-set.mjs up`): its API socket, its `docker` CLI
 * prefix (`nsenter` into the set's namespaces), its root filesystem and its storage paths, read
 * from `<state dir>/sets/<suite>/set.json`. Throws `ENGINE_UNAVAILABLE` with the fix when the
 * set was never brought up.
 *
 * @example
 * ```ts
 * const backend = composeEnvBackend(engineSetComposeOptions({ suite: "trixie" }));
 * ```
 */
export function engineSetComposeOptions(
  options: { suite?: string; stateDir?: string } = {},
): ComposeBackendOptions {
  const suite = options.suite ?? "trixie";
  const dir = join(options.stateDir ?? keyholeStateDir(), "sets", suite);
  let info: {
    docker?: { socketPath?: string; cli?: string[]; storage?: EngineStoragePath[] };
  };
  try {
    info = JSON.parse(readFileSync(join(dir, "set.json"), "utf8"));
  } catch (error) {
    throw new EngineUnavailableError(
      "compose",
      `No ${suite} engine set is described in ${dir}/set.json (${(error as NodeJS.ErrnoException).code ?? String(error)}): Compose v2 runs on the Debian 13 engine set.`,
      ENGINE_SET_FIX,
      { cause: error },
    );
  }
  const docker = info.docker;
  if (!docker?.socketPath || !Array.isArray(docker.cli)) {
    throw new EngineUnavailableError(
      "compose",
      `${dir}/set.json names no running Docker engine of the ${suite} set (was it stopped?).`,
      ENGINE_SET_FIX,
    );
  }
  return {
    cli: docker.cli,
    socketPath: docker.socketPath,
    root: join(dir, "rootfs"),
    storage: docker.storage ?? [],
    fix: ENGINE_SET_FIX,
  };
}
