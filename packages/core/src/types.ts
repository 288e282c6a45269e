/** A secret value: text (encoded as UTF-8) or raw bytes. */
export type SecretValue = string | Uint8Array;

/**
 * What a backend can deliver, declared as data by the adapter. The conformance suite reads
 * these to decide what to expect; nothing in keyhole branches on a backend id.
 */
export interface Capabilities {
  /** `as: "env"` deliveries are supported. */
  envDelivery: boolean;
  /** `as: "file"` deliveries are supported. */
  fileDelivery: boolean;
  /** `uid`/`gid` of a file delivery are honoured. */
  fileOwnership: boolean;
  /** `mode` of a file delivery is honoured. */
  fileMode: boolean;
  /** A file delivery can be made writable, so it can be scrubbed in place (`workload.scrub`). */
  scrubAfterUse: boolean;
  /** A file delivery can use an absolute target outside `/run/secrets` (`allowTargetOutsideSecretsDir`). */
  targetOutsideSecretsDir: boolean;
  /** `capDrop` / `capAdd` on a run are applied. */
  capDrop: boolean;
  /** The engine keeps secrets in a store of its own (false: values live only in keyhole's memory). */
  engineSecretStore: boolean;
  /** The engine's store encrypts values at rest. */
  encryptedAtRest: boolean;
  /** `replaceSecret` changes a secret's value in place under the same name. */
  replaceInPlace: boolean;
  /** The largest value (bytes) `createSecret` accepts. */
  maxValueBytes: number;
  /** Values with NUL and non-UTF-8 bytes are delivered byte-exact as files. */
  binarySafe: boolean;
  /**
   * Read-once file deliveries (`{ as: "file", once: true, value }`) are supported: a FIFO on a
   * tmpfs of keyhole's own, fed through a privileged exec session's stdin, unlinked as soon as a
   * reader opens it. Absent means false (backends written before it existed).
   */
  readOnce?: boolean;
}

/** Where and what the engine behind a backend is; used by host-side checks and reports. */
export interface EngineInfo {
  /**
   * The engine family the backend drives: a backend (third-party or not) on Podman or Docker
   * says so, and the conformance suite asks that engine's own CLI as an oracle. `"other"` when
   * it is neither; checks that need an engine CLI are then `unmeasurable`.
   */
  kind: "podman" | "docker" | "other";
  /** A human-readable name, e.g. `"podman"`, `"docker swarm"`. */
  name: string;
  /** The engine's API endpoint, e.g. `unix:///run/keyhole/podman.sock`. */
  endpoint?: string;
  /** Environment a CLI of this engine needs to see the same state (e.g. `CONTAINERS_CONF`). */
  env?: Readonly<Record<string, string>>;
  /**
   * Host paths (as seen from the host, not from inside an engine's namespace) where this engine
   * or backend keeps state that may hold a secret value: its secret store, container storage,
   * a third-party store or scratch dir. The conformance suite's storage scans read exactly
   * these, in addition to what it learns from the engine itself. Default: none declared.
   *
   * @example
   * ```ts
   * storage: [{ path: "/var/lib/my-vault-driver", kind: "store" }]
   * ```
   */
  storage?: readonly EngineStoragePath[];
  /**
   * argv prefix that runs this engine's own CLI against the same state from the host, for
   * host-side checks that must bypass the adapter (e.g. `["podman"]`, or an `nsenter … podman
   * --remote --url …` prefix for an engine in a namespace). Default: the engine kind's CLI
   * from `PATH` with `env` and `endpoint` applied.
   */
  cli?: readonly string[];
  /**
   * The nodes of a multi-node engine (a Swarm of several nodes), for checks that ask which
   * nodes hold a copy of a secret. Undefined on a one-node engine.
   *
   * @example
   * ```ts
   * cluster: {
   *   nodes: [
   *     { name: "n1", id: "iya5…", role: "manager", endpoint: "unix:///var/tmp/keyhole-cl/default/n1/docker.sock",
   *       storage: [{ path: "/var/tmp/keyhole-cl/default/n1/data", kind: "engine" }] },
   *   ],
   * }
   * ```
   */
  cluster?: EngineCluster;
}

/** The nodes of a multi-node engine, for {@link EngineInfo.cluster}. */
export interface EngineCluster {
  /** Every node keyhole can reach, managers first. */
  readonly nodes: readonly EngineNode[];
  /**
   * argv prefix of a command that kills (`… kill <node name>`) and restarts
   * (`… start <node name>`) one node's engine, for node-loss checks; only a cluster keyhole brought
   * up itself has one (`node scripts/cluster.mjs --name <name>`). Undefined: node-loss checks are
   * not applicable.
   */
  readonly control?: readonly string[];
}

/** One node of an {@link EngineCluster}. */
export interface EngineNode {
  /** A name unique in the cluster (the node map's, else the node's hostname). */
  readonly name: string;
  /** The engine's id of the node (a Swarm node id). */
  readonly id: string;
  /** `manager` or `worker`. */
  readonly role: "manager" | "worker";
  /** That node's own engine API endpoint, e.g. `unix:///…/n2/docker.sock` or `tcp://10.0.0.3:2376`. */
  readonly endpoint: string;
  /** Host paths of that node's state (its data root), when the node's disk is readable from here. */
  readonly storage?: readonly EngineStoragePath[];
}

/** One host path where an engine or backend keeps state, for {@link EngineInfo.storage}. */
export interface EngineStoragePath {
  /** Absolute host path (a directory or a file). */
  path: string;
  /**
   * `store`: the secret store (values are expected there, encrypted or not); `container`:
   * workloads' storage; `engine`: other engine or backend state.
   */
  kind: "store" | "container" | "engine";
  /**
   * The same place as the engine itself names it, when that differs from `path` (an engine in
   * another mount namespace: `/var/lib/containers/storage` inside is `path` on the host). Host
   * checks translate paths the engine reports (e.g. a container's `UpperDir`) with it.
   */
  enginePath?: string;
}

/** A secret as keyhole knows it. It never holds the value. */
export interface SecretHandle {
  /** The name given to `createSecret`. */
  readonly name: string;
  /** The engine's id for it (or the name, where the engine has none). */
  readonly id: string;
  /** The backend that created it. */
  readonly backendId: string;
  /** Labels on the secret, keyhole's ownership labels included. */
  readonly labels: Readonly<Record<string, string>>;
  /** Size of the value in bytes. */
  readonly size: number;
  /** False when the value holds a NUL byte, which no environment variable can carry. */
  readonly envSafe: boolean;
}

/** Options of `createSecret`. */
export interface CreateSecretOptions {
  /** Extra labels; keyhole's ownership labels are always added. */
  labels?: Record<string, string>;
}

/** Deliver a secret as an environment variable of the container. */
export interface EnvDelivery {
  secret: SecretHandle;
  as: "env";
  /** The variable name, `[A-Za-z_][A-Za-z0-9_]*`. */
  name: string;
}

/** Deliver a secret as a file in the container. */
export interface FileDelivery {
  secret: SecretHandle;
  as: "file";
  /**
   * Where the file appears. Relative paths are under `/run/secrets/`; default
   * `/run/secrets/<secret name>`. Absolute paths outside `/run/secrets` need
   * `allowTargetOutsideSecretsDir` on the run.
   */
  target?: string;
  /** Owner uid (integer 0…2^32-2). Default: the engine's (usually 0). */
  uid?: number;
  /** Owner gid (integer 0…2^32-2). Default: the engine's (usually 0). */
  gid?: number;
  /** Permission bits, an integer 0…0o777 (write `0o400`, not `"0400"`). Default: the engine's. */
  mode?: number;
  /**
   * Make the file writable so `workload.scrub(target)` can overwrite it after an init step.
   * Needs `capabilities.scrubAfterUse`.
   */
  scrub?: boolean;
  /** Not read-once; see {@link OnceFileDelivery}. */
  once?: false;
}

/**
 * Deliver a value read-once: keyhole creates a FIFO at `target` (owner `uid:gid`, `mode`) on a
 * tmpfs of its own, and feeds the value into it through an exec session's stdin as soon as a
 * reader opens it. The path is unlinked the moment a reader has opened it, so the first reader
 * gets the whole value and every later `open` gets ENOENT. Readers that opened it in the same
 * instant do not split it: one gets all of it, the others are paused until it is done and then
 * read nothing. The value never reaches the engine's secret store, a disk, a tmpfs file or an
 * environment. Needs `capabilities.readOnce`; `workload.consumed(target)` tells when it was read.
 *
 * @example
 * ```ts
 * await using w = await backend.run({
 *   image,
 *   command: ["sh", "-c", "register --token-file /run/keyhole-once/token; exec agent"],
 *   secrets: [{ as: "file", once: true, value: token, target: "token", uid: 2000, mode: 0o400 }],
 * });
 * await w.consumed?.("token");
 * ```
 */
export interface OnceFileDelivery {
  as: "file";
  once: true;
  /** The value itself: it goes straight to the FIFO and never into the engine's secret store. */
  value: SecretValue;
  /**
   * Where the FIFO appears. A plain name is under `/run/keyhole-once/`; an absolute path must be
   * directly in `/run/keyhole-once`, or (with `allowTargetOutsideSecretsDir`) directly in another
   * directory, which then becomes a tmpfs of keyhole's own and hides what the image had there.
   */
  target: string;
  /** Owner uid of the FIFO. Default 0. */
  uid?: number;
  /** Owner gid of the FIFO. Default 0. */
  gid?: number;
  /** Permission bits of the FIFO, 0…0o777. Default `0o400`. */
  mode?: number;
  /** A read-once value cannot be scrubbed: there is no copy to scrub. */
  scrub?: never;
  /** A read-once delivery takes `value`, never a handle (a handle's value is in the engine's store). */
  secret?: never;
}

/** One secret delivery of a run. */
export type SecretDelivery = EnvDelivery | FileDelivery | OnceFileDelivery;

/** What to run and which secrets it gets. */
export interface RunSpec {
  /** The image, e.g. the probe image from `@keyhole/probe`. Never pulled by keyhole. */
  image: string;
  /** argv of PID 1. Default: the image's. */
  command?: string[];
  /** User of PID 1 (`"2000"`, `"2000:2000"`, `"alice"`). Default: the image's. */
  user?: string;
  /** Plain (non-secret) environment variables. */
  env?: Record<string, string>;
  /** Capabilities to drop, e.g. `["DAC_OVERRIDE"]` (with or without `CAP_`). */
  capDrop?: string[];
  /** Capabilities to add. */
  capAdd?: string[];
  /** The secrets this workload gets. */
  secrets?: SecretDelivery[];
  /** Extra labels; keyhole's ownership labels are always added. */
  labels?: Record<string, string>;
  /** Permit absolute file targets outside `/run/secrets`. Default false. */
  allowTargetOutsideSecretsDir?: boolean;
}

/** Options of `workload.exec`. */
export interface ExecOptions {
  /** Run as this user (`"2000"`, `"bob"`, `"0"`). Default: the workload's user. */
  user?: string;
  /** Bytes fed to the process's stdin. */
  stdin?: string | Uint8Array;
  /** Extra environment of the exec session (never put a secret here). */
  env?: Record<string, string>;
  /**
   * Run with every capability (the engine's privileged exec), whatever the run dropped.
   * keyhole's read-once writer needs it to see which processes opened its FIFO.
   */
  privileged?: boolean;
}

/**
 * The result of `workload.exec`. Output is returned as the process wrote it, **not redacted**:
 * probes need to see what leaks. Redact before you log or report it.
 */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running container that received secrets. */
export interface Workload extends AsyncDisposable {
  /** The engine's container id (for Swarm: the task's container). */
  readonly containerId: string;
  /** The engine object keyhole created (container id, or Swarm service id). */
  readonly objectId: string;
  /** The backend that started it. */
  readonly backendId: string;
  /**
   * The file targets of this run, normalised to absolute paths, in delivery order. Read-once
   * FIFOs are not files and are not listed (see {@link Workload.consumed}).
   */
  readonly fileTargets: readonly string[];
  /**
   * The node the workload runs on ({@link EngineNode.name}), on engines with several nodes;
   * undefined on a one-node engine.
   */
  readonly node?: string;
  /** Runs `argv` in a new exec session inside the container. */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Overwrites a `scrub: true` file delivery in place (zeros, then truncates), then verifies
   * from inside that no reader gets the old bytes. Throws `UNSUPPORTED_DELIVERY` when the
   * backend cannot, `INVALID_INPUT` when `target` was not delivered with `scrub: true`.
   */
  scrub(target: string): Promise<void>;
  /**
   * Resolves with the time a reader got the whole value of the read-once delivery at `target`
   * (absolute, or a plain name under `/run/keyhole-once`); rejects when the workload stopped
   * first, or no reader could be given it. Present on backends whose `capabilities.readOnce` is
   * true; `INVALID_INPUT` for a target that was not delivered read-once.
   */
  consumed?(target: string): Promise<Date>;
  /** Stops and removes the container (and service). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * One engine's way of delivering secrets. Create with an adapter (`podmanFileBackend()`,
 * `dockerSwarmBackend()`, …); dispose to remove everything it created.
 */
export interface SecretBackend extends AsyncDisposable {
  /** Stable id, e.g. `"podman-file"`, `"podman-pass"`, `"docker-swarm"`, `"docker"`. */
  readonly id: string;
  /** What this backend can deliver. */
  readonly capabilities: Readonly<Capabilities>;
  /** The engine behind it. */
  readonly engine: EngineInfo;
  /** The run id in this instance's labels. */
  readonly runId: string;
  /** Checks the engine answers; throws `ENGINE_UNAVAILABLE` with the fix when it does not. */
  ready(): Promise<{ version: string }>;
  /** Creates a secret. The value reaches the engine only through an API body or stdin. */
  createSecret(
    name: string,
    value: SecretValue,
    options?: CreateSecretOptions,
  ): Promise<SecretHandle>;
  /** Replaces a secret's value in place. `UNSUPPORTED_DELIVERY` unless `capabilities.replaceInPlace`. */
  replaceSecret(secret: SecretHandle, value: SecretValue): Promise<SecretHandle>;
  /** Removes a secret. `SECRET_NOT_FOUND` when it is gone. */
  removeSecret(secret: SecretHandle): Promise<void>;
  /** Secrets this backend instance created and that still exist. */
  listSecrets(): Promise<SecretHandle[]>;
  /** Starts a workload with its deliveries. Validates everything before any engine call. */
  run(spec: RunSpec): Promise<Workload>;
  /** Removes every workload and secret this instance created. Safe to call twice. */
  dispose(): Promise<void>;
}
