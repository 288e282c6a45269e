import { join } from "node:path";
import { composeGc, engineSetComposeOptions } from "@keyhole/compose";
import { isKeyholeError, keyholeStateDir } from "@keyhole/core";
import { dockerGc } from "@keyhole/docker";
import { swarmClusterMapPath, swarmClusterOptions, swarmGc } from "@keyhole/docker-swarm";
import { podmanGc } from "@keyhole/podman";
import { EXIT, type ExitCode } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { type HostView, REAL_HOST } from "./strategies.js";

/** One object an engine's gc helper found. */
export interface GcObject {
  kind: string;
  name: string;
  runId: string | undefined;
  removed: boolean;
  error?: string;
}

/** One engine's gc helper, wrapped to a common shape. */
export interface GcEngine {
  name: string;
  /** True when the engine is not installed here at all (then it is skipped quietly). */
  absent(host: HostView): boolean;
  collect(options: { dryRun: boolean; runId?: string }): Promise<GcObject[]>;
}

/** keyhole's engines, each with the gc helper its adapter package exports. */
export const GC_ENGINES: readonly GcEngine[] = [
  {
    name: "podman",
    absent: (host) => !host.onPath("podman"),
    async collect(o) {
      const r = await podmanGc({ dryRun: o.dryRun, ...(o.runId ? { runId: o.runId } : {}) });
      return [...r.containers, ...r.secrets].map((i) => ({
        kind: i.kind,
        name: i.name,
        runId: i.runId,
        removed: i.removed,
        ...(i.error ? { error: i.error } : {}),
      }));
    },
  },
  {
    name: "docker swarm",
    absent: (host) => !host.env.DOCKER_HOST && !host.exists("/var/run/docker.sock"),
    async collect(o) {
      const r = await swarmGc({ dryRun: o.dryRun, ...(o.runId ? { runId: o.runId } : {}) });
      return r.found.map((i) => ({
        kind: i.kind,
        name: i.name,
        runId: i.runId,
        removed: r.removed,
      }));
    },
  },
  {
    // The multi-node swarm of `node scripts/cluster.mjs up`: services and secrets on its
    // manager, task containers left on every node.
    name: "docker swarm cluster",
    absent: (host) => !host.exists(swarmClusterMapPath()),
    async collect(o) {
      const options = swarmClusterOptions();
      const r = await swarmGc({
        dryRun: o.dryRun,
        ...(o.runId ? { runId: o.runId } : {}),
        ...(options.socketPath ? { socketPath: options.socketPath } : {}),
        nodes: (options.nodes ?? []).map((n) => n.endpoint),
      });
      return r.found.map((i) => ({
        kind: i.node ? `${i.kind} on ${i.node}` : i.kind,
        name: i.name,
        runId: i.runId,
        removed: r.removed,
      }));
    },
  },
  {
    name: "docker",
    absent: (host) => !host.env.DOCKER_HOST && !host.exists("/var/run/docker.sock"),
    async collect(o) {
      const r = await dockerGc({ dryRun: o.dryRun, ...(o.runId ? { runId: o.runId } : {}) });
      return r.found.map((i) => ({
        kind: i.kind,
        name: i.name,
        runId: i.runId,
        removed: r.removed,
      }));
    },
  },
  {
    // Compose projects and the private dirs (host copies of values) on the Debian 13 engine set.
    name: "docker compose (Debian 13 engine set)",
    absent: (host) => !host.exists(join(keyholeStateDir(), "sets", "trixie", "set.json")),
    async collect(o) {
      const found = await composeGc({
        ...engineSetComposeOptions(),
        dryRun: o.dryRun,
        ...(o.runId ? { runId: o.runId } : {}),
      });
      return found.map((i) => ({
        kind: i.kind,
        name: i.name,
        runId: i.runId,
        removed: i.removed,
        ...(i.error ? { error: i.error } : {}),
      }));
    },
  },
];

/**
 * `keyhole gc [--dry-run] [--run ID]`: on every engine, removes every object labelled keyhole
 * (optionally only one run's) and says what it removed. An engine that is installed but not
 * reachable is reported and skipped. Exits 1 when an object could not be removed.
 */
export async function gcCommand(
  options: { dryRun: boolean; runId?: string },
  io: CliIO,
  engines: readonly GcEngine[] = GC_ENGINES,
  host: HostView = REAL_HOST,
): Promise<ExitCode> {
  let total = 0;
  let failed = 0;
  const verb = options.dryRun ? "would remove" : "removed";
  for (const engine of engines) {
    if (engine.absent(host)) {
      io.stdout.write(`${engine.name}: not installed, nothing to do\n`);
      continue;
    }
    let found: GcObject[];
    try {
      found = await engine.collect(options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      io.stdout.write(
        `${engine.name}: skipped, ${isKeyholeError(error, "ENGINE_UNAVAILABLE") ? "not reachable" : "failed"}: ${message}\n`,
      );
      if (!isKeyholeError(error, "ENGINE_UNAVAILABLE")) failed++;
      continue;
    }
    if (found.length === 0) {
      io.stdout.write(
        `${engine.name}: nothing labelled keyhole${options.runId ? ` of run ${options.runId}` : ""}\n`,
      );
      continue;
    }
    for (const o of found) {
      const run = o.runId ? ` (run ${o.runId})` : "";
      if (o.error || (!options.dryRun && !o.removed)) {
        failed++;
        io.stdout.write(
          `${engine.name}: could not remove ${o.kind} ${o.name}${run}: ${o.error ?? "unknown reason"}\n`,
        );
      } else {
        total++;
        io.stdout.write(`${engine.name}: ${verb} ${o.kind} ${o.name}${run}\n`);
      }
    }
  }
  io.stdout.write(
    `${options.dryRun ? "Would remove" : "Removed"} ${total} object${total === 1 ? "" : "s"}${failed > 0 ? `; ${failed} could not be removed` : ""}.\n`,
  );
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
