import { hostPathOf } from "../host-engine.js";
import {
  isTmpfs,
  type ScanResult,
  type StorageHit,
  scanStorage,
  UnmeasurableScope,
} from "../host-scan.js";
import type { Measurement } from "../judge.js";
import type { Pass } from "../pass.js";
import type { CheckImpl } from "./types.js";

/** Values scanned for on the host: every printable test value (plain env values are not among them). */
function scannedValues(pass: Pass): Map<string, string> {
  return new Map(pass.textValues);
}

/** Writable layers of the pass's workloads (a copy written into a container's own filesystem). */
async function upperDirs(pass: Pass): Promise<string[]> {
  if (!pass.cli) return [];
  // One CLI process per workload, all at once (each costs 0.1–0.4 s of process start).
  const found = await Promise.all(
    pass.workloads.map(async (w) => {
      // On a cluster, the node that runs the task knows its container.
      const cli = pass.cliFor(w)!;
      const r = await cli.run([
        "inspect",
        "--format",
        "{{.GraphDriver.Data.UpperDir}}",
        w.containerId,
      ]);
      if (r.code !== 0) {
        // Fail closed: a writable layer nobody scanned cannot be reported clean.
        throw new Error(
          `${cli.binary} inspect of workload ${w.containerId.slice(0, 12)} failed (exit ${r.code}): ${pass.redactor.clip(r.stderr, 300)}`,
        );
      }
      // An engine in another mount namespace names its own path: translate it to the host's.
      const dir = hostPathOf(pass.backend.engine, r.stdout.trim());
      return dir.startsWith("/") ? [dir] : [];
    }),
  );
  return found.flat();
}

const scans = new WeakMap<Pass, Promise<ScanResult>>();

/** One scan of the engine's storage while the workloads run, shared by the rest.* checks. */
function scanWhileRunning(pass: Pass): Promise<ScanResult> {
  let scan = scans.get(pass);
  if (!scan) {
    scan = (async () => {
      const scope = await pass.storageScope();
      const ids = pass.workloads.flatMap((w) => [w.containerId, w.objectId]);
      // While they run, the engine keeps each workload's container id in its storage: finding
      // one proves the scan covered where containers live.
      const controls = new Map<string, string[]>(
        scope.controls.size > 0 && pass.workloads.length > 0
          ? [[CONTAINER_CONTROL, pass.workloads.map((w) => w.containerId)]]
          : [],
      );
      pass.hostProbes.storageScans++;
      return scanStorage(scope, scannedValues(pass), await upperDirs(pass), ids, controls);
    })();
    scans.set(pass, scan);
  }
  return scan;
}

const CONTAINER_CONTROL = "a running workload's container id";

/**
 * The `error` (or `unmeasurable`) a scan must turn into when it cannot be trusted: it had
 * problems, or it missed one of its positive controls. Undefined when it is sound.
 */
export function unsound(scan: ScanResult, expected: readonly string[]): Measurement | undefined {
  if (scan.problems.length > 0) {
    return {
      outcome: "error",
      reason: `The storage scan cannot be trusted: ${scan.problems.join(" ")}`,
    };
  }
  const missing = expected.filter((c) => !scan.controlsFound.includes(c));
  if (missing.length > 0) {
    return {
      outcome: "error",
      reason: `Positive control failed: the storage scan did not find ${missing.join(", ")}, so it did not really read the engine's storage.`,
    };
  }
  return undefined;
}

/** The controls a scan of `pass` must find (the scope's, plus running containers' ids). */
async function expectedControls(pass: Pass, running: boolean): Promise<string[]> {
  const scope = await pass.storageScope();
  const labels = [...scope.controls.keys()];
  if (running && scope.controls.size > 0 && pass.workloads.length > 0)
    labels.push(CONTAINER_CONTROL);
  return labels;
}

/** Runs `measure`, turning an invisible storage into `unmeasurable` with its reason. */
async function orUnmeasurable(measure: () => Promise<Measurement>): Promise<Measurement> {
  try {
    return await measure();
  } catch (error) {
    if (error instanceof UnmeasurableScope)
      return { outcome: "unmeasurable", reason: error.message };
    throw error;
  }
}

function recordScan(pass: Pass, scan: ScanResult, note: string): void {
  for (const argv of scan.commands) {
    pass.record({ where: "host", argv, note: `${note} (patterns on stdin)` });
  }
  pass.record({
    where: "host",
    argv: ["(classify candidates in node)"],
    stdout: scan.hits
      .map((h) => `${h.kind} ${h.fsType} ${h.form} [${h.value}] ${h.path}`)
      .join("\n"),
    note: `${scan.candidates} candidate file(s), ${scan.hits.length} hit(s), ${scan.durationMs} ms; controls found: ${scan.controlsFound.join(", ") || "none"}${scan.warnings.length ? `; ${scan.warnings.join("; ")}` : ""}${scan.problems.length ? `; PROBLEMS: ${scan.problems.join("; ")}` : ""}`,
  });
}

/** `store secrets/filedriver/secretsdata.json (base64: file, owned)`, ids shortened to 12 characters. */
export function summarizeHits(hits: readonly StorageHit[], limit = 4): string {
  const byPath = new Map<string, { hit: StorageHit; labels: Set<string>; forms: Set<string> }>();
  for (const h of hits) {
    const e = byPath.get(h.path) ?? { hit: h, labels: new Set(), forms: new Set() };
    e.labels.add(h.value);
    e.forms.add(h.form);
    byPath.set(h.path, e);
  }
  const order = { store: 0, container: 1, engine: 2 } as const;
  const parts = [...byPath.values()]
    .sort((a, b) => order[a.hit.kind] - order[b.hit.kind])
    .map(
      ({ hit, labels, forms }) =>
        `${hit.kind} ${hit.fsType === "tmpfs" ? "tmpfs " : ""}${shortPath(hit.path)} (${[...forms].join("+")}: ${[...labels].join(", ")})`,
    );
  const shown = parts.slice(0, limit).join("; ");
  return parts.length > limit ? `${shown}; +${parts.length - limit} more` : shown;
}

/** Drops the well-known storage prefixes and shortens 64-hex ids. */
export function shortPath(path: string): string {
  return path
    .replace(/^\/var\/lib\/containers\/storage\//, "")
    .replace(/^\/var\/lib\/docker\//, "")
    .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1…");
}

export const restChecks: Record<string, CheckImpl> = {
  "rest.plaintext-on-host": {
    fixtures: ["file", "env"],
    measure: ({ pass }) =>
      orUnmeasurable(async () => {
        const scan = await scanWhileRunning(pass);
        recordScan(pass, scan, "files under the engine's storage holding a value");
        const bad = unsound(scan, await expectedControls(pass, true));
        if (bad) return bad;
        const contradictions: string[] = [];
        const inStore = scan.hits.filter((h) => h.kind === "store");
        if (pass.caps.encryptedAtRest && inStore.length > 0) {
          contradictions.push(
            `The backend declares encryptedAtRest: true, yet its secret store holds the value readable: ${summarizeHits(inStore)}.`,
          );
        }
        return {
          outcome: scan.hits.length > 0 ? "exposed" : "protected",
          observed: scan.hits.length > 0 ? summarizeHits(scan.hits) : "no copy found",
          contradictions,
        };
      }),
  },
  "rest.plaintext-on-disk": {
    fixtures: ["file", "env"],
    measure: ({ pass }) =>
      orUnmeasurable(async () => {
        const scan = await scanWhileRunning(pass);
        recordScan(pass, scan, "files under the engine's storage holding a value");
        const bad = unsound(scan, await expectedControls(pass, true));
        if (bad) return bad;
        const onDisk = scan.hits.filter((h) => !isTmpfs(h.fsType));
        return {
          outcome: onDisk.length > 0 ? "exposed" : "protected",
          observed:
            onDisk.length > 0
              ? summarizeHits(onDisk)
              : scan.hits.length > 0
                ? "only on tmpfs"
                : "no copy found",
        };
      }),
  },
  "rest.plaintext-after-dispose": {
    fixtures: ["file"],
    measure: ({ pass }) =>
      orUnmeasurable(async (): Promise<Measurement> => {
        if (pass.disposeError === undefined)
          return { outcome: "error", reason: "dispose() did not run." };
        const scope = await pass.storageScope();
        pass.hostProbes.storageScans++;
        const scan = await scanStorage(scope, scannedValues(pass), [], []);
        recordScan(
          pass,
          scan,
          "after dispose: files under the engine's storage still holding a value",
        );
        const bad = unsound(scan, await expectedControls(pass, false));
        if (bad) return bad;
        return {
          outcome: scan.hits.length > 0 ? "exposed" : "protected",
          observed: scan.hits.length > 0 ? summarizeHits(scan.hits) : "no copy left",
        };
      }),
  },
};
