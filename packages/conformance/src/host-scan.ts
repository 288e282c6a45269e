import { accessSync, existsSync, constants as fsConstants, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EngineInfo } from "@keyhole/core";
import { type EngineCli, runCollect } from "./host-engine.js";

/** Where an engine keeps state on the host, as far as the storage scan is concerned. */
export interface StorageScope {
  /** Directories scanned recursively (minus `excludeDirs`). */
  roots: string[];
  /** Directory base names skipped (image layers, mounted container root filesystems). */
  excludeDirs: string[];
  /** Directories that hold the engine's secret store (for the `store` classification). */
  storeDirs: string[];
  /**
   * Positive controls: label → text the engine is known to keep in a file under `roots` (the
   * graph root's own path in Podman's database, the default bridge network's id in Docker's).
   * A scan that does not find each of them did not really read the engine's storage.
   */
  controls: Map<string, string>;
  /** Where the scope came from (for evidence): `podman info`, `docker info`, `engine.storage`. */
  sources: string[];
}

/** The engine's storage cannot be seen from here at all: the scan is `unmeasurable`, not clean. */
export class UnmeasurableScope extends Error {}

/** One file that holds a value. */
export interface StorageHit {
  path: string;
  /** The label of the value found (never the value). */
  value: string;
  /** How it was stored: as is, or base64-encoded. */
  form: "raw" | "base64";
  /** Filesystem type of the file's mount (`ext4`, `tmpfs`, …). */
  fsType: string;
  /** `store` (the engine's secret store), `container` (a workload's storage) or `engine` (other engine state). */
  kind: "store" | "container" | "engine";
}

/** The outcome of one scan. */
export interface ScanResult {
  hits: StorageHit[];
  /** The argv of the scanning commands (for evidence; never holds a value). */
  commands: string[][];
  /** Files grep listed (candidates before classification). */
  candidates: number;
  durationMs: number;
  /** Harmless things (a file that vanished while grep walked). */
  warnings: string[];
  /**
   * Why the scan cannot be trusted: nothing to scan, a root not readable, grep could not read a
   * file, grep was killed by its timeout. Any of them makes a `rest.*` check an `error`.
   */
  problems: string[];
  /** Labels of the positive controls found (see {@link StorageScope.controls}). */
  controlsFound: string[];
}

const TMPFS = new Set(["tmpfs", "ramfs", "devtmpfs"]);
const PODMAN_EXCLUDES = [
  "overlay",
  "overlay-images",
  "overlay-layers",
  "vfs",
  "vfs-images",
  "vfs-layers",
  "merged",
];
const DOCKER_EXCLUDES = [
  "overlay2",
  "image",
  "buildkit",
  "merged",
  "rootfs",
  "io.containerd.snapshotter.v1.overlayfs",
];

/**
 * Asks the engine where it keeps state: Podman's graph root and run root (`podman info`);
 * Docker's root dir (`docker info`), `/run/docker`
 * and containerd's dirs, Swarm's raft store when the engine's swarm is active. Adds every path
 * of `engine.storage`. Image layers and mounted root filesystems are excluded: a container's
 * own writable layer is added per workload. What is scanned follows the engine, never the
 * backend's capability declarations. Throws {@link UnmeasurableScope} when the engine's
 * storage is not visible from this host (or there is no engine CLI to ask, engine kind
 * `"other"`) and `engine.storage` names nothing either.
 */
export async function storageScope(
  engine: EngineInfo,
  cli: EngineCli | undefined,
): Promise<StorageScope> {
  const exists = (p: string | undefined): p is string => typeof p === "string" && existsSync(p);
  const declared = engine.storage ?? [];
  const declaredRoots = declared.map((d) => d.path);
  const declaredStores = declared.filter((d) => d.kind === "store").map((d) => d.path);
  const sources = declared.length > 0 ? ["engine.storage"] : [];
  const controls = new Map<string, string>();
  if (!cli) {
    // Engine kind "other": the declared paths are all keyhole can know about.
    if (declaredRoots.length === 0) {
      throw new UnmeasurableScope(
        `keyhole cannot ask an engine of kind "${engine.kind}" where it keeps state, and the backend declares no engine.storage. Declare the host paths of your store and state in engine.storage to have them scanned.`,
      );
    }
    return {
      roots: unique(declaredRoots),
      excludeDirs: [],
      storeDirs: declaredStores,
      controls,
      sources,
    };
  }
  // An engine in other namespaces (it declares its own CLI) reports paths of its own:
  // `podman info` says /var/lib/containers/storage, which on the host is the host's Podman.
  // Then its declared host paths are the whole scope.
  if (engine.cli && engine.cli.length > 0 && declaredRoots.length > 0) {
    const paths = declaredRoots.filter(exists);
    if (paths.length === 0) {
      throw new UnmeasurableScope(
        `None of the host paths the engine declares in engine.storage exists (${declaredRoots.join(", ")}): its storage is not visible from this host.`,
      );
    }
    const nested = (p: string) => paths.some((q) => q !== p && p.startsWith(`${q}/`));
    return {
      roots: unique(paths.filter((p) => !nested(p))),
      excludeDirs: cli.kind === "docker" ? [...DOCKER_EXCLUDES, "netns"] : PODMAN_EXCLUDES,
      storeDirs: declaredStores,
      controls,
      sources: [...sources, "engine.cli (an engine in its own namespaces)"],
    };
  }
  let engineRoots: Array<string | undefined>;
  let main: string;
  let excludeDirs: string[];
  let storeDirs: string[];
  if (cli.kind === "podman") {
    const info = await cli.run(["info", "--format", "json"]);
    if (info.code !== 0) throw new Error(`podman info failed: ${info.stderr.trim()}`);
    const store = (JSON.parse(info.stdout) as { store?: { graphRoot?: string; runRoot?: string } })
      .store;
    if (!store?.graphRoot) throw new Error("podman info names no graph root.");
    main = store.graphRoot;
    engineRoots = [main, store.runRoot, "/run/libpod"];
    excludeDirs = [...PODMAN_EXCLUDES];
    storeDirs = [join(main, "secrets")];
    // libpod's database records the graph root it was created with (it refuses a mismatch).
    controls.set("the graph root's path in libpod's database", main);
    sources.push("podman info");
  } else {
    const info = await cli.run([
      "info",
      "--format",
      "{{.DockerRootDir}}|{{.Swarm.LocalNodeState}}|{{.Swarm.ControlAvailable}}",
    ]);
    if (info.code !== 0) throw new Error(`docker info failed: ${info.stderr.trim()}`);
    const [root, swarmState] = info.stdout.trim().split("|");
    if (!root) throw new Error("docker info names no root dir.");
    main = root;
    // A multi-node engine: every node's readable data root is scanned, its swarm dir as a store.
    const nodeRoots = (engine.cluster?.nodes ?? []).flatMap((n) =>
      (n.storage ?? []).map((s) => s.path),
    );
    engineRoots = [root, "/run/docker", "/run/containerd", "/var/lib/containerd", ...nodeRoots];
    // Swarm's raft store (secrets live there) exactly when this engine is part of a swarm.
    const swarm = swarmState === "active";
    excludeDirs = [
      ...DOCKER_EXCLUDES,
      // Network namespaces bind-mounted by dockerd (nsfs): not files, reading one fails EINVAL.
      "netns",
      ...(swarm ? [] : ["swarm"]),
    ];
    storeDirs = unique([root, ...nodeRoots].map((r) => join(r, "swarm")));
    const bridge = await cli.run(["network", "inspect", "--format", "{{.Id}}", "bridge"]);
    const id = bridge.stdout.trim();
    if (bridge.code === 0 && /^[0-9a-f]{64}$/.test(id)) {
      // The default bridge network lives in libnetwork's store under the root dir.
      controls.set("the default bridge network's id in libnetwork's store", id);
    }
    sources.push(`docker info (swarm ${swarmState || "?"})`);
  }
  if (!exists(main)) {
    if (declaredRoots.length === 0) {
      throw new UnmeasurableScope(
        `The engine keeps its storage at ${main}, which is not visible from this host (an engine in another mount namespace or machine?), and the backend's engine.storage names no host path to scan instead.`,
      );
    }
    // An engine in a namespace: only what the backend declares is reachable from here.
    controls.clear();
    engineRoots = [];
  }
  return {
    roots: unique([...engineRoots.filter(exists), ...declaredRoots]),
    excludeDirs,
    storeDirs: unique([...(exists(main) ? storeDirs : []), ...declaredStores]),
    controls,
    sources,
  };
}

/**
 * Lists the files under `scope` (plus `extraDirs`, e.g. containers' writable layers) that hold
 * one of `values` as is or base64-encoded. The values reach `grep` on stdin (`-f -`), never in
 * argv; each candidate is then read in Node to tell which value and form it holds. The scope's
 * controls (and `controls`, e.g. running containers' ids) are searched for alongside: the
 * result names which were found, so a check can prove the scan read the engine's storage.
 *
 * @param values label → value (printable, no newline: grep patterns are lines).
 * @param containerIds ids whose paths count as `container` storage.
 */
export async function scanStorage(
  scope: StorageScope,
  values: ReadonlyMap<string, string>,
  extraDirs: readonly string[],
  containerIds: readonly string[],
  controls: ReadonlyMap<string, readonly string[]> = new Map(),
  timeoutMs = 300_000,
): Promise<ScanResult> {
  const started = Date.now();
  const needles: Array<{ label: string; form: "raw" | "base64"; bytes: Buffer }> = [];
  for (const [label, value] of values) {
    needles.push({ label, form: "raw", bytes: Buffer.from(value, "utf8") });
    needles.push({
      label,
      form: "base64",
      bytes: Buffer.from(Buffer.from(value, "utf8").toString("base64")),
    });
  }
  const controlNeedles: Array<{ label: string; bytes: Buffer }> = [
    ...[...scope.controls].map(([label, text]) => ({ label, bytes: Buffer.from(text) })),
    ...[...controls].flatMap(([label, texts]) =>
      texts.filter(Boolean).map((t) => ({ label, bytes: Buffer.from(t) })),
    ),
  ];
  const patterns = `${[...needles, ...controlNeedles].map((n) => n.bytes.toString("utf8")).join("\n")}\n`;
  // `-z` (NUL-separated lines) lists the same files, as no needle holds a NUL or a newline, but
  // grep no longer buffers a whole preallocated, newline-free file as one line: Swarm's 64 MB
  // raft WAL files took 2.2 s to scan that way and 0.08 s with `-z` (GNU grep 3.8). No `-s`:
  // grep's complaints tell a file that vanished mid-walk (harmless) from one it may not read.
  const common = ["-zrlF", "-D", "skip", "--binary-files=text", "-f", "-", "--"];
  const commands: string[][] = [];
  const warnings: string[] = [];
  const problems: string[] = [];
  const files = new Set<string>();
  const roots = scope.roots.filter((d) => existsSync(d));
  if (roots.length === 0) {
    problems.push(`Nothing to scan: none of ${scope.roots.join(", ") || "(no paths)"} exists.`);
  }
  for (const root of roots) {
    try {
      accessSync(root, fsConstants.R_OK | fsConstants.X_OK);
    } catch {
      problems.push(`Scan not permitted: ${root} is not readable by this process.`);
    }
  }
  const runs: Array<[string[], string[]]> = [
    [scope.excludeDirs.map((d) => `--exclude-dir=${d}`), roots],
    [[], extraDirs.filter((d) => existsSync(d))],
  ];
  for (const [excludes, dirs] of runs) {
    if (dirs.length === 0) continue;
    const args = [...excludes, ...common, ...dirs];
    commands.push(["grep", ...args]);
    const r = await runCollect("grep", args, { input: patterns, timeoutMs });
    // grep: 0 = matches, 1 = none, 2 = some file could not be read.
    const complaints = r.stderr.split("\n").filter(Boolean);
    const vanished = complaints.filter((l) => /No such file or directory$/.test(l));
    const other = complaints.filter((l) => !vanished.includes(l));
    if (r.timedOut)
      problems.push(
        `grep was killed by its ${timeoutMs / 1000} s timeout: the scan is incomplete.`,
      );
    else if (r.code > 2) problems.push(`grep ended with code ${r.code}: the scan is incomplete.`);
    else if (r.code === 2 && other.length === 0 && vanished.length === 0) {
      problems.push("grep exited 2 without saying which file it could not read.");
    }
    if (other.length > 0) {
      problems.push(`grep could not read: ${other.slice(0, 3).join("; ").slice(0, 400)}`);
    }
    if (vanished.length > 0)
      warnings.push(`${vanished.length} file(s) vanished while grep read them`);
    for (const line of r.stdout.split("\0").join("\n").split("\n")) if (line) files.add(line);
  }
  const mounts = readMounts();
  const hits: StorageHit[] = [];
  const controlsFound = new Set<string>();
  for (const path of files) {
    let data: Buffer;
    try {
      if (statSync(path).size > 256 * 1024 * 1024) {
        warnings.push(`${path} is larger than 256 MiB and was not classified`);
        continue;
      }
      data = readFileSync(path);
    } catch {
      continue; // vanished between grep and here
    }
    for (const c of controlNeedles) if (data.includes(c.bytes)) controlsFound.add(c.label);
    const fsType = fsTypeOf(path, mounts);
    const kind: StorageHit["kind"] = scope.storeDirs.some(
      (d) => path === d || path.startsWith(`${d}/`),
    )
      ? "store"
      : containerIds.some((id) => id && path.includes(id)) ||
          extraDirs.some((d) => path.startsWith(`${d}/`))
        ? "container"
        : "engine";
    for (const n of needles) {
      if (data.includes(n.bytes)) hits.push({ path, value: n.label, form: n.form, fsType, kind });
    }
  }
  return {
    hits,
    commands,
    candidates: files.size,
    durationMs: Date.now() - started,
    warnings,
    problems,
    controlsFound: [...controlsFound],
  };
}

interface MountEntry {
  point: string;
  type: string;
}

function readMounts(): MountEntry[] {
  try {
    return readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const f = line.split(" ");
        return { point: unescapeMount(f[1] ?? "/"), type: f[2] ?? "?" };
      });
  } catch {
    return [];
  }
}

/** Decodes the octal escapes (`\\040` for a space) of /proc mount tables. */
export function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The type of the filesystem `path` lives on: the longest (last, on ties) matching mount point. */
export function fsTypeOf(path: string, mounts: readonly MountEntry[] = readMounts()): string {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const prefix = m.point === "/" ? "/" : `${m.point}/`;
    if (path === m.point || path.startsWith(prefix)) {
      if (!best || m.point.length >= best.point.length) best = m;
    }
  }
  return best?.type ?? "?";
}

/** True for memory-backed filesystems. */
export function isTmpfs(fsType: string): boolean {
  return TMPFS.has(fsType);
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}
