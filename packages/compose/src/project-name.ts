/** The label Compose puts on every container of a project. */
export const PROJECT_LABEL = "com.docker.compose.project";

/** Where (as Compose sees it) the private directories of workloads go by default. */
export const DEFAULT_SCRATCH_DIR = "/run/keyhole-compose";

/**
 * The Compose project (and private directory) name of a workload:
 * `keyhole-<backend id>-<run id>-<n>`. The run id has no `-`, so it is always the
 * second-to-last segment (see {@link runIdOfProject}).
 */
export function projectName(backendId: string, runId: string, seq: number): string {
  return `keyhole-${backendId}-${runId}-${seq}`;
}

/** The run id of a project named by {@link projectName}, or undefined for any other name. */
export function runIdOfProject(name: string): string | undefined {
  return /^keyhole-[a-z0-9][a-z0-9-]*-([a-z0-9]+)-\d+$/.exec(name)?.[1];
}
