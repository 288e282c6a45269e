import type { Capabilities } from "@keyhole/core";

/** The group a check belongs to; also the first segment of its id. */
export type CheckGroup =
  | "env"
  | "file"
  | "rest"
  | "lifecycle"
  | "limits"
  | "cluster"
  | "once"
  | "hygiene";

/**
 * What the engine itself must be for a check to apply, read from `backend.engine`:
 * `cluster` — several nodes (`engine.cluster` with ≥ 2 nodes whose data roots are readable here);
 * `nodeControl` — keyhole can kill and restart a node (`engine.cluster.control`).
 * Elsewhere the check's outcome is `unsupported`, with the reason.
 */
export type EngineNeed = "cluster" | "nodeControl";

/** A capability flag of {@link Capabilities} that is a boolean (every one but `maxValueBytes`). */
export type BooleanCapability = {
  [K in keyof Capabilities]-?: NonNullable<Capabilities[K]> extends boolean ? K : never;
}[keyof Capabilities];

/**
 * When a check runs within one backend's pass. Checks run phase by phase, in catalogue order
 * within a phase, so that nothing a check does disturbs another that shares its workload:
 *
 * - `read` — looks without changing anything;
 * - `host` — looks at the engine from the host while the workloads still hold the original values;
 * - `mutate` — overwrites, scrubs or deletes a delivered file (after every reader);
 * - `dispose` — after `backend.dispose()`;
 * - `final` — over everything the pass recorded (host process samples, the report itself).
 */
export type CheckPhase = "read" | "host" | "mutate" | "dispose" | "final";

/** One check of the conformance catalogue, as data. */
export interface CheckDefinition {
  /** Stable id, `<group>.<name>`: the test name, the matrix row and the report key. */
  readonly id: string;
  /** What the check asks, in one line. */
  readonly title: string;
  /** The group (first segment of the id). */
  readonly group: CheckGroup;
  /** The figure of the source article it reproduces (`"4-2"`), or undefined when it goes beyond it. */
  readonly seedFigure?: string;
  /** What outcome `exposed` means for this check. */
  readonly exposedMeans: string;
  /** What outcome `protected` means for this check. */
  readonly protectedMeans: string;
  /** The deliveries the check needs (`env`, `file`); empty when it needs none. */
  readonly deliveries: readonly ("env" | "file")[];
  /**
   * Capabilities the check's delivery needs. When the backend declares one of them `false`, the
   * suite still makes the request and expects `UNSUPPORTED_DELIVERY` (outcome `unsupported`);
   * a backend that accepts it anyway contradicts its capabilities.
   */
  readonly requires: readonly BooleanCapability[];
  /**
   * Capabilities that promise outcome `protected`: when the backend declares all of them `true`,
   * any other measured outcome contradicts them and fails the test.
   */
  readonly promisedBy: readonly BooleanCapability[];
  /** `exposed` breaks one of keyhole's own invariants (not an engine finding) and fails the test. */
  readonly invariant: boolean;
  /** Looks from the host (engine CLI, storage, `/proc`) rather than from inside a container. */
  readonly host: boolean;
  /** When it runs within a backend's pass. */
  readonly phase: CheckPhase;
  /** What the engine must be for the check to apply (see {@link EngineNeed}). Default none. */
  readonly needs?: readonly EngineNeed[];
}

function check(def: CheckDefinition): CheckDefinition {
  return Object.freeze(def);
}

/**
 * The check catalogue, in report order. Every id is stable; renderers, the vitest front door
 * and the report key on it.
 *
 * @example
 * ```ts
 * import { CHECKS } from "@keyhole/conformance";
 * for (const c of CHECKS) console.log(c.id, c.seedFigure ?? "-", c.title);
 * ```
 */
export const CHECKS: readonly CheckDefinition[] = Object.freeze([
  // ── Env delivery (seed §4) ───────────────────────────────────────────────────────────────
  check({
    id: "env.child-inherits",
    title: "A child process sees the environment variable",
    group: "env",
    seedFigure: "4-2",
    exposedMeans: "a child of a process holding the variable gets the value in its environment",
    protectedMeans: "the child's environment does not hold the value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.exec-session-sees",
    title: "A new exec session sees the variable even after PID 1 unset it",
    group: "env",
    seedFigure: "4-3",
    exposedMeans: "a new exec session has the value although PID 1 ran `unset`",
    protectedMeans: "a new exec session does not get the value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.proc-environ-after-unset",
    title: "/proc/1/environ still holds the value after `unset`",
    group: "env",
    seedFigure: "4-4",
    exposedMeans: "root reads the value from /proc/1/environ after PID 1 unset it",
    protectedMeans: "/proc/1/environ does not hold the value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.other-uid-sees",
    title: "A process of another uid started in the container sees the variable",
    group: "env",
    seedFigure: "4-5",
    exposedMeans: "an exec session as uid 3000 (bob) has the value in its environment",
    protectedMeans: "uid 3000 does not get the value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.same-uid-proc-environ",
    title: "Another process of the same uid reads the value via /proc/<pid>/environ",
    group: "env",
    seedFigure: "4-8",
    exposedMeans: "uid 2000 reads the value from /proc/<pid>/environ of another uid-2000 process",
    protectedMeans: "the other process's environ is unreadable or does not hold the value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.argv-visible-in-ps",
    title: "A value passed on a command line is visible to other uids in `ps`",
    group: "env",
    seedFigure: "4-9",
    exposedMeans:
      "uid 3000 sees the value in `ps` / /proc/*/cmdline of a root process given it as an argument",
    protectedMeans: "other uids cannot see other processes' arguments",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "env.engine-inspect-shows",
    title: "The engine's inspect output contains the value",
    group: "env",
    exposedMeans: "`podman inspect` / `docker inspect` (or service inspect) prints the value",
    protectedMeans: "inspect output names the variable at most, never its value",
    deliveries: ["env"],
    requires: ["envDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
  }),
  // ── File delivery (seed §5) ──────────────────────────────────────────────────────────────
  check({
    id: "file.default-path-owner-mode",
    title: "Where and with which owner/mode the file appears by default",
    group: "file",
    seedFigure: "5-1",
    exposedMeans: "with default options the file is world-readable (mode has o+r)",
    protectedMeans: "with default options other uids have no read permission",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.other-uid-reads-default",
    title: "An unrelated uid can read the file delivered with default options",
    group: "file",
    seedFigure: "5-1",
    exposedMeans: "uid 3000 (bob) reads the value",
    protectedMeans: "uid 3000 is denied",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.uid-gid-mode-honoured",
    title: "uid/gid/mode 2000/2000/0400: the owner reads, another uid is denied",
    group: "file",
    seedFigure: "5-4",
    exposedMeans: "uid 3000 reads a file delivered as 2000:2000 0400",
    protectedMeans: "the file is 2000:2000 0400, uid 2000 reads it, uid 3000 is denied",
    deliveries: ["file"],
    requires: ["fileDelivery", "fileOwnership", "fileMode"],
    promisedBy: ["fileOwnership", "fileMode"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.env-unaffected",
    title: "Restricting the file does not change plain env access",
    group: "file",
    seedFigure: "5-5",
    exposedMeans:
      "uid 3000, denied the 0400 file, still reads the plain env variables of the container",
    protectedMeans: "uid 3000 cannot read the container's plain env variables either",
    deliveries: ["file"],
    requires: ["fileDelivery", "fileOwnership", "fileMode"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.stdin-keeps-argv-clean",
    title: "A consumer fed by `< /run/secrets/x` never shows the value in `ps`",
    group: "file",
    seedFigure: "5-6",
    exposedMeans:
      "the value shows up in `ps` / /proc/*/cmdline although the consumer read it from stdin",
    protectedMeans: "the consumer got the value and no process's arguments hold it",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.visible-in-proc-mounts",
    title: "/proc/self/mountinfo shows other uids where the host keeps a copy",
    group: "file",
    exposedMeans:
      "uid 3000 learns from mountinfo the host path of a copy of the secret on a disk filesystem",
    protectedMeans:
      "mountinfo shows no host path of a disk copy (tmpfs, or a copy inside the container)",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.target-outside-secrets-dir",
    title: "A file target outside /run/secrets lands in the container's writable layer",
    group: "file",
    exposedMeans:
      "the file at the outside target is part of the container's writable layer (kept by commit/export, on the host's disk)",
    protectedMeans: "the outside target is its own mount, so commit/export never includes it",
    deliveries: ["file"],
    requires: ["fileDelivery", "targetOutsideSecretsDir"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "file.root-overrides-mode",
    title: "Root writes a read-only file while it holds CAP_DAC_OVERRIDE",
    group: "file",
    seedFigure: "5-1",
    exposedMeans: "root overwrites the default (read-only) secret file",
    protectedMeans: "the write is refused (e.g. a read-only mount)",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "mutate",
  }),
  check({
    id: "file.write-shared-across-processes",
    title: "An overwrite of the file is seen by other processes",
    group: "file",
    seedFigure: "5-2",
    exposedMeans: "content written by one process is what a new process of another session reads",
    protectedMeans: "no process can change what other processes read",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "mutate",
  }),
  check({
    id: "file.delete-refused",
    title: "`rm` of the secret file fails",
    group: "file",
    seedFigure: "5-1",
    exposedMeans: "root removes the secret file",
    protectedMeans: "`rm` fails (e.g. `Resource busy` on a mount point) and the file stays",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "mutate",
  }),
  check({
    id: "file.capdrop-blocks-write",
    title: "With CAP_DAC_OVERRIDE dropped a 0444 file cannot be written",
    group: "file",
    seedFigure: "5-3",
    exposedMeans: "root overwrites the default file although CAP_DAC_OVERRIDE was dropped",
    protectedMeans: "CAP_DAC_OVERRIDE is gone and the write is refused",
    deliveries: ["file"],
    requires: ["fileDelivery", "capDrop"],
    promisedBy: ["capDrop"],
    invariant: false,
    host: false,
    phase: "mutate",
  }),
  check({
    id: "file.scrub-after-use",
    title:
      "A scrubbable file (0644, CAP_DAC_OVERRIDE dropped) can be overwritten; later readers get only the scrubbed content",
    group: "file",
    seedFigure: "5-3",
    exposedMeans: "after `workload.scrub()` some uid still reads the old value",
    protectedMeans: "after `workload.scrub()` no uid (root, 2000, 3000) reads the old bytes",
    deliveries: ["file"],
    requires: ["fileDelivery", "scrubAfterUse"],
    promisedBy: ["scrubAfterUse"],
    invariant: false,
    host: false,
    phase: "mutate",
  }),
  // ── Beyond the seed ──────────────────────────────────────────────────────────────────────
  check({
    id: "rest.plaintext-on-host",
    title: "The value is stored in plaintext (or base64) in the engine's storage on the host",
    group: "rest",
    exposedMeans:
      "a file under the engine's storage (secret store or container storage) holds the value or its base64 while the workload runs",
    protectedMeans: "no file under the engine's storage holds the value or its base64",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
  }),
  check({
    id: "rest.plaintext-on-disk",
    title: "A plaintext copy is on a persistent (non-tmpfs) filesystem",
    group: "rest",
    exposedMeans:
      "a copy found by rest.plaintext-on-host lives on a disk filesystem (survives a reboot, ends up in backups)",
    protectedMeans: "every copy is on tmpfs, or there is none",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
  }),
  check({
    id: "rest.plaintext-after-dispose",
    title: "A plaintext copy remains in the engine's storage after dispose",
    group: "rest",
    exposedMeans:
      "after `dispose()` a file under the engine's storage still holds a value of this run",
    protectedMeans:
      "after `dispose()` no file under the engine's storage holds a value of this run",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "dispose",
  }),
  check({
    id: "lifecycle.replace",
    title: "The secret can be replaced in place; new workloads get only the new value",
    group: "lifecycle",
    exposedMeans: "after `replaceSecret` a new workload still receives the old value",
    protectedMeans: "after `replaceSecret` a new workload receives the new value only",
    deliveries: ["file"],
    requires: ["fileDelivery", "replaceInPlace"],
    promisedBy: ["replaceInPlace"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "lifecycle.cleanup",
    title: "Nothing is left after dispose",
    group: "lifecycle",
    exposedMeans:
      "after `dispose()` the engine still has a container, service or secret of this run",
    protectedMeans: "the engine (asked directly, not through the adapter) has nothing of this run",
    deliveries: [],
    requires: [],
    promisedBy: [],
    invariant: true,
    host: true,
    phase: "dispose",
  }),
  check({
    id: "limits.max-bytes",
    title: "The largest declared value is accepted and delivered intact; one byte more is refused",
    group: "limits",
    exposedMeans:
      "the declared maximum is refused or altered, or a larger value is not refused with SECRET_TOO_LARGE",
    protectedMeans:
      "`maxValueBytes` bytes arrive intact and `maxValueBytes + 1` fails with SECRET_TOO_LARGE",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "limits.binary-exact",
    title: "A value with NUL and non-UTF-8 bytes is delivered byte-exact as a file",
    group: "limits",
    exposedMeans:
      "the delivered bytes differ (truncated at NUL, re-encoded), or an env delivery of it is not refused",
    protectedMeans:
      "the file has exactly the bytes given; env delivery of it fails with INVALID_INPUT",
    deliveries: ["file"],
    requires: ["fileDelivery", "binarySafe"],
    promisedBy: ["binarySafe"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  // ── Clusters: which nodes hold a copy, and what a node's loss does ─────────────────────────
  check({
    id: "cluster.no-copy-off-task-nodes",
    title: "A node that runs no task using the secret holds no copy of it",
    group: "cluster",
    exposedMeans:
      "the value (plaintext or base64) is in the data root (tmpfs mounts included) of a node that runs no task using it",
    protectedMeans: "only the node running the task holds the value (on its tmpfs)",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
    needs: ["cluster"],
  }),
  check({
    id: "cluster.worker-disk",
    title: "No worker keeps the value on disk",
    group: "cluster",
    exposedMeans: "a worker's data root holds the value (plaintext or base64) outside tmpfs",
    protectedMeans: "no worker has the value on disk; the task's node has it on tmpfs only",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
    needs: ["cluster"],
  }),
  check({
    id: "cluster.manager-raft",
    title: "The raft store of every manager holds no plaintext or base64 of the value",
    group: "cluster",
    exposedMeans: "a manager's raft store (swarm/raft) holds the value as plaintext or base64",
    protectedMeans:
      "every manager's raft log was written after the secret and holds no readable copy",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "host",
    needs: ["cluster"],
  }),
  check({
    id: "cluster.node-loss",
    title:
      "A lost worker's task moves to another node with the secret; the lost node keeps no copy",
    group: "cluster",
    exposedMeans:
      "after the killed worker came back, its data root (tmpfs included) still holds the value",
    protectedMeans:
      "the task ran again on another node with the value byte-exact, and the returned node holds no copy",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "final",
    needs: ["cluster", "nodeControl"],
  }),
  check({
    id: "cluster.autolock",
    title: "With autolock on, a restarted manager hands out no secret until unlocked",
    group: "cluster",
    exposedMeans:
      "a restarted manager of an autolocked swarm served secrets without the unlock key",
    protectedMeans:
      "the restarted manager stayed locked (secrets refused) until the unlock key was given on stdin",
    deliveries: ["file"],
    requires: ["fileDelivery"],
    promisedBy: [],
    invariant: false,
    host: true,
    phase: "final",
    needs: ["cluster", "nodeControl"],
  }),
  // ── Read-once delivery (beyond the seed: a FIFO unlinked at first open) ─────────────────
  check({
    id: "once.intended-reader-exact",
    title: "The intended uid reads a read-once value byte-exact, and keyhole sees it consumed",
    group: "once",
    exposedMeans: "never: a wrong or missing value is an error of the delivery",
    protectedMeans:
      "uid 2000 reads the whole binary value (digest and size match) and workload.consumed() resolves",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "once.second-read-finds-nothing",
    title: "A second open of a read-once target finds nothing",
    group: "once",
    exposedMeans: "after the intended reader got the value, another open of the target got data",
    protectedMeans:
      "after the intended reader got the value (its digest checked), the next open fails with ENOENT",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "once.other-uid-denied",
    title: "Another uid cannot open a read-once FIFO (its mode is honoured)",
    group: "once",
    exposedMeans: "uid 3000 read the value from a FIFO delivered as 2000:2000 0400",
    protectedMeans:
      "uid 3000 gets EACCES, the FIFO is still there, and uid 2000 then reads the whole value",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "once.racing-readers-one-winner",
    title: "Two readers racing for a read-once value: one gets all of it, the other nothing",
    group: "once",
    exposedMeans: "in some round both readers got data (a split value) or both got the whole value",
    protectedMeans:
      "in every round exactly one reader got the whole 100 kB value; the other got ENOENT or end-of-file",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: false,
    host: false,
    phase: "read",
  }),
  check({
    id: "once.no-host-copy",
    title: "No copy of a read-once value on the host, before or after it is read",
    group: "once",
    exposedMeans:
      "a file under the engine's storage (disk or tmpfs), keyhole's state dir or the temp dir held the value",
    protectedMeans:
      "scans of the engine's storage, the workload's writable layer, the state and temp dirs find it neither while unread nor after",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: true,
    host: true,
    phase: "host",
  }),
  check({
    id: "once.not-in-secret-store",
    title: "A read-once value never becomes a secret of the engine",
    group: "once",
    exposedMeans:
      "the engine's secret list (or the backend's) gained a secret the pass did not create",
    protectedMeans:
      "the engine's secret list holds the pass's own secrets (the listing works) and nothing else of this run",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: true,
    host: true,
    phase: "host",
  }),
  check({
    id: "once.host-argv-environ",
    title: "No host process's argv or environment holds a read-once value",
    group: "once",
    exposedMeans:
      "/proc/<pid>/cmdline or /proc/<pid>/environ of a host process held a read-once value",
    protectedMeans:
      "samples taken while the writers waited and while readers read found no read-once value",
    deliveries: ["file"],
    requires: ["fileDelivery", "readOnce"],
    promisedBy: ["readOnce"],
    invariant: true,
    host: true,
    phase: "final",
  }),
  check({
    id: "hygiene.errors-redacted",
    title: "Error messages never contain a value",
    group: "hygiene",
    exposedMeans: "the message, cause or stack of an error thrown by the backend holds a value",
    protectedMeans: "SECRET_EXISTS / SECRET_TOO_LARGE / SECRET_NOT_FOUND errors hold no value",
    deliveries: [],
    requires: [],
    promisedBy: [],
    invariant: true,
    host: false,
    phase: "read",
  }),
  check({
    id: "hygiene.temp-files",
    title: "No temp file keyhole leaves holds a value",
    group: "hygiene",
    exposedMeans:
      "a file in the temp dir or keyhole's state dir, written during the run, holds a value",
    protectedMeans:
      "no file written during the run in the temp dir or keyhole's state dir holds a value",
    deliveries: [],
    requires: [],
    promisedBy: [],
    invariant: true,
    host: true,
    phase: "dispose",
  }),
  check({
    id: "hygiene.host-argv-environ",
    title: "No host process's argv or environment holds a value while keyhole works",
    group: "hygiene",
    exposedMeans:
      "/proc/<pid>/cmdline or /proc/<pid>/environ of a host process (outside the containers) held a value",
    protectedMeans:
      "no sample of /proc/*/cmdline and /proc/*/environ of host processes held a value",
    deliveries: [],
    requires: [],
    promisedBy: [],
    invariant: true,
    host: true,
    phase: "final",
  }),
  check({
    id: "hygiene.report-redacted",
    title: "The report holds no value",
    group: "hygiene",
    exposedMeans: "the serialized report held a value (it was redacted before being returned)",
    protectedMeans: "the serialized report holds none of the values used",
    deliveries: [],
    requires: [],
    promisedBy: [],
    invariant: true,
    host: false,
    phase: "final",
  }),
]);

/** {@link CHECKS} by id. */
export const catalogue: ReadonlyMap<string, CheckDefinition> = new Map(
  CHECKS.map((c) => [c.id, c]),
);

/** The definition of check `id`; throws `TypeError` naming the known ids when there is none. */
export function checkById(id: string): CheckDefinition {
  const def = catalogue.get(id);
  if (!def) {
    throw new TypeError(
      `Unknown check ${JSON.stringify(id)}. Known checks: ${[...catalogue.keys()].join(", ")}.`,
    );
  }
  return def;
}
