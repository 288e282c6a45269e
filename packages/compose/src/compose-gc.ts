import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KEYHOLE_LABEL, KEYHOLE_RUN_LABEL } from "@keyhole/core";
import { dockerClient, resolveDockerEndpoint, toKeyholeError } from "@keyhole/docker-api";
import type Dockerode from "dockerode";
import type { ComposeBackendOptions } from "./compose-backend.js";
import { lastLines, runCompose } from "./compose-cli.js";
import { DEFAULT_SCRATCH_DIR, PROJECT_LABEL, runIdOfProject } from "./project-name.js";

/** Options of {@link composeGc}: where the engine is (as for the backends), and what to remove. */
export interface ComposeGcOptions extends ComposeBackendOptions {
  /** Only list what would be removed. Default false. */
  dryRun?: boolean;
  /** Only what this run id left. Default: everything keyhole's compose backends left. */
  runId?: string;
}

/** One leftover {@link composeGc} found: a project's containers, or a private directory. */
export interface ComposeGcItem {
  /** `project`: containers of a keyhole Compose project; `private dir`: a workload's directory (it may hold host copies of values). */
  kind: "project" | "private dir";
  /** The project name (= the directory name). */
  name: string;
  runId: string | undefined;
  removed: boolean;
  error?: string;
}

/**
 * Removes what keyhole's compose backends left after a process died without cleanup
 * (SIGKILL): every project whose containers carry `keyhole=true` (`docker compose down`, then
 * any container still there through the API) and every private directory under `scratchDir`
 * (with the `file:` copies of values in it). Optionally only one run's. Backs `keyhole gc`.
 *
 * @example
 * ```ts
 * const found = await composeGc({ ...engineSetComposeOptions(), dryRun: true });
 * ```
 */
export async function composeGc(options: ComposeGcOptions = {}): Promise<ComposeGcItem[]> {
  const socketPath = options.socketPath ?? "/var/run/docker.sock";
  const docker = dockerClient("compose", resolveDockerEndpoint("compose", { socketPath }));
  const composeCli = options.composeCli ?? [...(options.cli ?? ["docker"]), "compose"];
  const label = [`${KEYHOLE_LABEL}=true`];
  if (options.runId !== undefined) label.push(`${KEYHOLE_RUN_LABEL}=${options.runId}`);
  let containers: Dockerode.ContainerInfo[];
  try {
    containers = await docker.listContainers({ all: true, filters: { label } });
  } catch (error) {
    throw toKeyholeError("compose", `unix://${socketPath}`, "list keyhole's containers", error);
  }
  const projects = new Map<string, string | undefined>();
  for (const c of containers) {
    const project = c.Labels?.[PROJECT_LABEL];
    if (project && runIdOfProject(project)) projects.set(project, c.Labels?.[KEYHOLE_RUN_LABEL]);
  }
  const items: ComposeGcItem[] = [];
  for (const [name, runId] of projects) {
    const item: ComposeGcItem = { kind: "project", name, runId, removed: false };
    items.push(item);
    if (options.dryRun) continue;
    const r = await runCompose(composeCli, ["-p", name, "down", "--timeout", "0", "--volumes"]);
    for (const c of containers.filter((x) => x.Labels?.[PROJECT_LABEL] === name)) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {});
    }
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${PROJECT_LABEL}=${name}`] },
    });
    item.removed = left.length === 0;
    if (!item.removed)
      item.error = `still there after down (exit ${r.code}): ${lastLines(r.stderr, 2)}`;
  }
  const root = options.root ?? "/";
  const scratch = join(root, options.scratchDir ?? DEFAULT_SCRATCH_DIR);
  let dirs: string[] = [];
  try {
    dirs = readdirSync(scratch);
  } catch {
    // No scratch dir: nothing was ever written there.
  }
  for (const name of dirs) {
    const runId = runIdOfProject(name);
    if (!runId || (options.runId !== undefined && runId !== options.runId)) continue;
    const item: ComposeGcItem = { kind: "private dir", name, runId, removed: false };
    items.push(item);
    if (options.dryRun) continue;
    try {
      rmSync(join(scratch, name), { recursive: true, force: true });
      item.removed = true;
    } catch (error) {
      item.error = (error as Error).message;
    }
  }
  return items;
}
