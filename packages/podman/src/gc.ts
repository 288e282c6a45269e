import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { KEYHOLE_BACKEND_LABEL, KEYHOLE_LABEL, KEYHOLE_RUN_LABEL, podmanEnv } from "@keyhole/core";
import { LibpodClient } from "./libpod-client.js";
import { stopGpgAgent } from "./pass-store.js";
import { SHARED_DIR_PREFIX, startPodmanService } from "./podman-service.js";
import { removeContainer } from "./podman-workload.js";

/** Options of {@link podmanGc}. */
export interface PodmanGcOptions {
  /** Only objects of this run id (`keyhole.run` label). Default: every keyhole object. */
  runId?: string;
  /** List what would be removed, remove nothing. Default false. */
  dryRun?: boolean;
  /** Use this libpod API socket. Default: start a private `podman system service`. */
  socketPath?: string;
  /** The `podman` binary. Default `"podman"`. */
  podmanPath?: string;
  /** How long to wait for a started service, in ms. Default 30000. */
  startTimeoutMs?: number;
}

/** One object `podmanGc` found. */
export interface PodmanGcItem {
  kind: "container" | "secret";
  id: string;
  name: string;
  /** The `keyhole.run` label. */
  runId: string | undefined;
  /** The `keyhole.backend` label. */
  backendId: string | undefined;
  /** True when it was removed (always false in a dry run). */
  removed: boolean;
  /** Why removing it failed (redacted engine text). */
  error?: string;
}

/** What `podmanGc` found and did. */
export interface PodmanGcReport {
  dryRun: boolean;
  containers: PodmanGcItem[];
  secrets: PodmanGcItem[];
  /**
   * keyhole's private temp directories (API socket, throwaway GnuPG home and password
   * store) of runs whose objects were found and whose API service is gone: removed, or in a
   * dry run, to be removed.
   */
  dirs: string[];
}

const BACKEND = "podman";
const SAFE_RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Finds every container and secret on the Podman engine that carries keyhole's `keyhole=true`
 * label (optionally only one run's) and removes them, containers first; then the private temp
 * directory of each of those runs whose API service is gone. Used by `keyhole gc` after an
 * interrupted run. Objects without keyhole's label are never touched.
 *
 * Podman 4.3's secret list neither returns labels nor filters by them, so each secret is
 * inspected. A `pass` secret whose throwaway store is already gone (a killed run) cannot be
 * removed by Podman, which deletes the encrypted file first; for stores under keyhole's own
 * temp-dir naming, gc puts back an empty placeholder so the removal goes through.
 *
 * @example
 * ```ts
 * const report = await podmanGc({ dryRun: true });
 * for (const c of report.containers) console.log(c.name, c.runId);
 * ```
 */
export async function podmanGc(options: PodmanGcOptions = {}): Promise<PodmanGcReport> {
  const dryRun = options.dryRun === true;
  if (options.socketPath !== undefined) {
    return collect(new LibpodClient(options.socketPath, BACKEND), options.runId, dryRun);
  }
  const dir = await mkdtemp(join(tmpdir(), "keyhole-podman-gc-"));
  try {
    const service = await startPodmanService({
      backendId: BACKEND,
      podmanPath: options.podmanPath ?? "podman",
      socketPath: join(dir, "podman.sock"),
      env: podmanEnv(),
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });
    try {
      return await collect(new LibpodClient(service.socketPath, BACKEND), options.runId, dryRun);
    } finally {
      await service.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function collect(
  client: LibpodClient,
  runId: string | undefined,
  dryRun: boolean,
): Promise<PodmanGcReport> {
  const matches = (labels: Record<string, string> | null | undefined) =>
    labels?.[KEYHOLE_LABEL] === "true" &&
    (runId === undefined || labels[KEYHOLE_RUN_LABEL] === runId);

  const containerList = await client.json<
    Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> | null }>
  >("GET", "/containers/json", "list containers", {
    query: { all: true, filters: { label: [`${KEYHOLE_LABEL}=true`] } },
  });
  const containers: PodmanGcItem[] = containerList
    .filter((c) => matches(c.Labels))
    .map((c) => item("container", c.Id, c.Names?.[0] ?? c.Id, c.Labels ?? {}));

  const secretList = await client.json<Array<{ ID: string }>>(
    "GET",
    "/secrets/json",
    "list secrets",
  );
  const secrets: PodmanGcItem[] = [];
  const passRoots = new Map<string, string>();
  for (const { ID } of secretList) {
    const res = await client.request("GET", `/secrets/${ID}/json`);
    if (res.status === 404) continue; // removed meanwhile
    if (res.status >= 400) throw client.engineError(`inspect secret ${ID}`, res);
    const info = JSON.parse(res.body.toString("utf8")) as {
      Spec: {
        Name: string;
        Labels?: Record<string, string> | null;
        Driver?: { Name?: string; Options?: Record<string, string> | null };
      };
    };
    if (!matches(info.Spec.Labels)) continue;
    secrets.push(item("secret", ID, info.Spec.Name, info.Spec.Labels ?? {}));
    const root = info.Spec.Driver?.Options?.root;
    if (info.Spec.Driver?.Name === "pass" && root) passRoots.set(ID, root);
  }
  const dirs = await deadRunDirs(
    runId === undefined ? [...containers, ...secrets].map((o) => o.runId) : [runId],
  );
  // A shared API service belongs to no run: an unscoped gc removes those whose process died.
  if (runId === undefined) dirs.push(...(await deadSharedServiceDirs()));
  if (dryRun) return { dryRun, containers, secrets, dirs };

  for (const c of containers) {
    try {
      await removeContainer(client, BACKEND, c.id);
      c.removed = true;
    } catch (error) {
      c.error = (error as Error).message;
    }
  }
  for (const s of secrets) {
    let res = await client.request("DELETE", `/secrets/${s.id}`);
    const root = passRoots.get(s.id);
    const placeholder = res.status >= 400 && root ? placeholderDir(root) : undefined;
    if (root && placeholder) {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await writeFile(join(root, `${s.id}.gpg`), "");
      res = await client.request("DELETE", `/secrets/${s.id}`);
      await rm(placeholder, { recursive: true, force: true });
    }
    if (res.status < 400 || res.status === 404) s.removed = true;
    else s.error = client.engineError(`remove secret ${s.name}`, res).message;
  }
  for (const dir of dirs) {
    await stopGpgAgent(join(dir, "gnupg"));
    await rm(dir, { recursive: true, force: true });
  }
  return { dryRun, containers, secrets, dirs };
}

/**
 * The private directories (`<tmp>/keyhole-podman-<run id>`) of these runs that still exist
 * although their API service no longer answers: left behind by a killed process.
 */
async function deadRunDirs(runIds: Array<string | undefined>): Promise<string[]> {
  const dirs: string[] = [];
  for (const runId of new Set(runIds)) {
    // The run id comes from an engine label: only a plain name may become a path segment.
    if (!runId || !SAFE_RUN_ID.test(runId) || runId.includes("..")) continue;
    const dir = join(tmpdir(), `keyhole-podman-${runId}`);
    if (!existsSync(dir)) continue;
    const socket = join(dir, "podman.sock");
    const alive =
      existsSync(socket) &&
      (await new LibpodClient(socket, BACKEND).request("GET", "/_ping").then(
        (r) => r.status === 200,
        () => false,
      ));
    if (!alive) dirs.push(dir);
  }
  return dirs;
}

/**
 * The directories of shared API services (`<tmp>/keyhole-podman-svc-*`, see
 * `sharedSocketPath`) whose service no longer answers, left by a killed process. A directory
 * younger than a minute is skipped: its service may still be starting.
 */
export async function deadSharedServiceDirs(root: string = tmpdir()): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const dirs: string[] = [];
  for (const name of names) {
    if (!name.startsWith(SHARED_DIR_PREFIX) || !/^[A-Za-z0-9-]+$/.test(name)) continue;
    const dir = join(root, name);
    const info = await lstat(dir).catch(() => undefined);
    if (!info?.isDirectory() || Date.now() - info.mtimeMs < 60_000) continue;
    const socket = join(dir, "podman.sock");
    const alive =
      existsSync(socket) &&
      (await new LibpodClient(socket, BACKEND).request("GET", "/_ping").then(
        (r) => r.status === 200,
        () => false,
      ));
    if (!alive) dirs.push(dir);
  }
  return dirs;
}

/**
 * The throwaway directory to recreate for a `pass` secret's missing store, when the store
 * was one of keyhole's (`<tmp>/keyhole-podman-<run id>/store`) and is gone; else undefined.
 */
function placeholderDir(root: string): string | undefined {
  const parent = dirname(root);
  const run = basename(parent).replace(/^keyhole-podman-/, "");
  if (
    basename(root) !== "store" ||
    !basename(parent).startsWith("keyhole-podman-") ||
    !SAFE_RUN_ID.test(run) ||
    dirname(parent) !== tmpdir()
  ) {
    return undefined;
  }
  return existsSync(parent) ? undefined : parent;
}

function item(
  kind: PodmanGcItem["kind"],
  id: string,
  name: string,
  labels: Record<string, string>,
): PodmanGcItem {
  return {
    kind,
    id,
    name: name.replace(/^\//, ""),
    runId: labels[KEYHOLE_RUN_LABEL],
    backendId: labels[KEYHOLE_BACKEND_LABEL],
    removed: false,
  };
}
