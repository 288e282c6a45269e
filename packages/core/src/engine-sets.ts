import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { keyholeStateDir } from "./state-dir.js";
import type { EngineInfo, EngineStoragePath } from "./types.js";

/** One engine of an {@link EngineSet}: what an adapter needs to use it from the host. */
export interface EngineSetEngine {
  /** The engine's API socket, a host path (libpod API for Podman, Docker API for dockerd). */
  socketPath: string;
  /** The engine's version as `up` found it, e.g. `"5.4.2"`. */
  version: string;
  /** argv prefix that runs the engine's own CLI from the host ({@link EngineInfo.cli}). */
  cli: readonly string[];
  /** Where the engine keeps state, as host paths ({@link EngineInfo.storage}). */
  storage: readonly EngineStoragePath[];
  /** A directory the host and the engine both see (the set's `/tmp`), as each names it. */
  sharedDir?: { path: string; enginePath: string };
}

/**
 * A set of engines keyhole can run on: the host's own (`name: "host"`, no endpoints: adapters
 * use their defaults) or the other Debian release's, provisioned by `scripts/engine-set.mjs`
 * under `<state dir>/sets/<suite>` (`name: "trixie"` or `"bookworm"`).
 */
export interface EngineSet {
  /** `"host"`, or the Debian suite of a provisioned set. */
  name: string;
  /** The set's Debian version (`"13.2"`); undefined for the host. */
  debian?: string;
  /** The set's Podman API service; undefined for the host. */
  podman?: EngineSetEngine;
  /** The set's dockerd (a one-node swarm manager); undefined for the host. */
  docker?: EngineSetEngine;
}

/** The host's own engines. */
export const HOST_ENGINE_SET: EngineSet = Object.freeze({ name: "host" });

/**
 * The engine sets provisioned on this machine whose API sockets exist, read from
 * `<state dir>/sets/<suite>/set.json` (written by `node scripts/engine-set.mjs up`), sorted by
 * name. Does not contact the engines: an adapter's `ready()` does.
 *
 * @example
 * ```ts
 * for (const set of provisionedEngineSets()) podmanFileBackend({ socketPath: set.podman?.socketPath });
 * ```
 */
export function provisionedEngineSets(): EngineSet[] {
  const dir = join(keyholeStateDir(), "sets");
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const sets: EngineSet[] = [];
  for (const name of names) {
    const file = join(dir, name, "set.json");
    if (!existsSync(file)) continue;
    try {
      const info = JSON.parse(readFileSync(file, "utf8")) as {
        suite: string;
        debian?: string;
        podman: EngineSetEngine;
        docker: EngineSetEngine;
      };
      if (!existsSync(info.podman.socketPath) || !existsSync(info.docker.socketPath)) continue;
      // set.json of an older keyhole has no sharedDir: the set's /tmp is one by construction.
      const sharedDir = info.podman.sharedDir ?? {
        path: join(dir, name, "rootfs", "tmp"),
        enginePath: "/tmp",
      };
      sets.push({
        name: info.suite,
        ...(info.debian ? { debian: info.debian } : {}),
        podman: { ...info.podman, sharedDir },
        docker: info.docker,
      });
    } catch {
      // A half-written or foreign file: not a usable set.
    }
  }
  return sets;
}
