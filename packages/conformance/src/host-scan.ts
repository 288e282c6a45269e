import { existsSync, readFileSync, statSync } from "node:fs";
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
}

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
  /** Problems that did not stop the scan (unreadable roots, grep errors). */
  warnings: string[];
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
 * Docker's root dir (`docker info`) plus `/run/docker` and containerd's dirs. Adds every path
 * the backend declares in `engine.storage` (a pass store, a third-party store): the one way a
 * backend tells the suite where its state lives. Image layers and mounted root filesystems are
 * excluded: a container's own writable layer is added per workload. Swarm's store is scanned
 * only when `usesSecretStore` (the backend declares `engineSecretStore`). Without a CLI (engine
 * kind `"other"`) the scope is the declared paths alone.
 */
export async function storageScope(
  engine: EngineInfo,
  cli: EngineCli | undefined,
  usesSecretStore = true,
): Promise<StorageScope> {
  const exists = (p: string | undefined): p is string => typeof p === "string" && existsSync(p);
  const declared = (engine.storage ?? []).map((s) => s.path);
  const declaredStores = (engine.storage ?? [])
    .filter((s) => s.kind === "store")
    .map((s) => s.path);
  if (!cli)
    return { roots: unique(declared.filter(exists)), excludeDirs: [], storeDirs: declaredStores };
  // An engine in other namespaces (it declares its own CLI) reports paths of its own:
  // `podman info` says /var/lib/containers/storage, which on the host is the host's Podman.
  // Then its declared host paths are the whole scope.
  if (engine.cli && engine.cli.length > 0 && declared.length > 0) {
    const paths = declared.filter(exists);
    const nested = (p: string) => paths.some((q) => q !== p && p.startsWith(`${q}/`));
    return {
      roots: unique(paths.filter((p) => !nested(p))),
      excludeDirs:
        cli.kind === "docker"
          ? [...DOCKER_EXCLUDES, ...(usesSecretStore ? [] : ["swarm"])]
          : PODMAN_EXCLUDES,
      storeDirs: declaredStores,
    };
  }
  if (cli.kind === "podman") {
    const info = await cli.run(["info", "--format", "json"]);
    if (info.code !== 0) throw new Error(`podman info failed: ${info.stderr.trim()}`);
    const store = (JSON.parse(info.stdout) as { store?: { graphRoot?: string; runRoot?: string } })
      .store;
    const graphRoot = store?.graphRoot ?? "/var/lib/containers/storage";
    const roots = [graphRoot, store?.runRoot, "/run/libpod", ...declared];
    return {
      roots: unique(roots.filter(exists)),
      excludeDirs: [
        "overlay",
        "overlay-images",
        "overlay-layers",
        "vfs",
        "vfs-images",
        "vfs-layers",
        "merged",
      ],
      storeDirs: [join(graphRoot, "secrets"), ...declaredStores],
    };
  }
  const info = await cli.run(["info", "--format", "{{.DockerRootDir}}"]);
  if (info.code !== 0) throw new Error(`docker info failed: ${info.stderr.trim()}`);
  const root = info.stdout.trim() || "/var/lib/docker";
  // A multi-node engine: every node's readable data root is scanned, its swarm dir as a store.
  const nodeRoots = (engine.cluster?.nodes ?? []).flatMap((n) =>
    (n.storage ?? []).map((s) => s.path),
  );
  return {
    roots: unique(
      [
        root,
        "/run/docker",
        "/run/containerd",
        "/var/lib/containerd",
        ...declared,
        ...nodeRoots,
      ].filter(exists),
    ),
    // Swarm's raft store (64 MB preallocated WAL files, slow to read on a busy host) only for a
    // backend that keeps secrets in an engine store; the plain engine never writes there.
    excludeDirs: [
      "overlay2",
      "image",
      "buildkit",
      "merged",
      "rootfs",
      "io.containerd.snapshotter.v1.overlayfs",
      ...(usesSecretStore ? [] : ["swarm"]),
    ],
    storeDirs: unique([root, ...nodeRoots].map((r) => join(r, "swarm")).concat(declaredStores)),
  };
}

/**
 * Lists the files under `scope` (plus `extraDirs`, e.g. containers' writable layers) that hold
 * one of `values` as is or base64-encoded. The values reach `grep` on stdin (`-f -`), never in
 * argv; each candidate is then read in Node to tell which value and form it holds.
 *
 * @param values label → value (printable, no newline: grep patterns are lines).
 * @param containerIds ids whose paths count as `container` storage.
 */
export async function scanStorage(
  scope: StorageScope,
  values: ReadonlyMap<string, string>,
  extraDirs: readonly string[],
  containerIds: readonly string[],
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
  const patterns = `${needles.map((n) => n.bytes.toString("utf8")).join("\n")}\n`;
  // `-z` (NUL-separated lines) lists the same files, as no needle holds a NUL or a newline, but
  // grep no longer buffers a whole preallocated, newline-free file as one line: Swarm's 64 MB
  // raft WAL files took 2.2 s to scan that way and 0.08 s with `-z` (GNU grep 3.8).
  const common = ["-zrlsF", "-D", "skip", "--binary-files=text", "-f", "-", "--"];
  const commands: string[][] = [];
  const warnings: string[] = [];
  const files = new Set<string>();
  const runs: Array<[string[], string[]]> = [
    [scope.excludeDirs.map((d) => `--exclude-dir=${d}`), scope.roots],
    [[], extraDirs.filter((d) => existsSync(d))],
  ];
  for (const [excludes, dirs] of runs) {
    if (dirs.length === 0) continue;
    const args = [...excludes, ...common, ...dirs];
    commands.push(["grep", ...args]);
    const r = await runCollect("grep", args, { input: patterns, timeoutMs: 300_000 });
    // grep: 0 = matches, 1 = none, 2 = some file could not be read (vanished/unreadable).
    if (r.code > 1 && r.stdout === "")
      warnings.push(`grep exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
    for (const line of r.stdout.split("\n")) if (line) files.add(line);
  }
  const mounts = readMounts();
  const hits: StorageHit[] = [];
  for (const path of files) {
    let data: Buffer;
    try {
      if (statSync(path).size > 256 * 1024 * 1024) continue;
      data = readFileSync(path);
    } catch {
      continue; // vanished between grep and here
    }
    const fsType = fsTypeOf(path, mounts);
    const kind: StorageHit["kind"] = scope.storeDirs.some((d) => path.startsWith(`${d}/`))
      ? "store"
      : containerIds.some((id) => id && path.includes(id)) ||
          extraDirs.some((d) => path.startsWith(`${d}/`))
        ? "container"
        : "engine";
    for (const n of needles) {
      if (data.includes(n.bytes)) hits.push({ path, value: n.label, form: n.form, fsType, kind });
    }
  }
  return { hits, commands, candidates: files.size, durationMs: Date.now() - started, warnings };
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
