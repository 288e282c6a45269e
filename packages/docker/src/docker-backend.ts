import { randomBytes } from "node:crypto";
import {
  type Capabilities,
  type CreateSecretOptions,
  EngineError,
  type EngineInfo,
  type EngineStoragePath,
  InvalidInputError,
  KEYHOLE_BACKEND_LABEL,
  KEYHOLE_RUN_LABEL,
  type NormalizedFileDelivery,
  newRunId,
  ONCE_READY_MARKER,
  onceTmpfsDirs,
  ownershipLabels,
  ResourceTracker,
  type RunSpec,
  registerSecretValue,
  SECRETS_DIR,
  type SecretBackend,
  SecretExistsError,
  type SecretHandle,
  SecretNotFoundError,
  SecretTooLargeError,
  type SecretValue,
  startOnceDeliveries,
  typeName,
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";
import {
  type ExecTarget,
  engineStatus,
  execInContainer,
  toKeyholeError,
} from "@keyhole/docker-api";
import Dockerode from "dockerode";
import { gatedCommand, putFiles, waitForGate } from "./file-delivery.js";
import { KeyholeContainer } from "./keyhole-container.js";
import {
  type LocalDockerEndpoint,
  resolveLocalEndpoint,
  testcontainersClient,
} from "./testcontainers-client.js";
import { DockerWorkload } from "./workload.js";

/** Options of {@link dockerBackend}. */
export interface DockerBackendOptions {
  /**
   * The Docker-API unix socket. Default: `DOCKER_HOST` (`unix://` only), else
   * `/var/run/docker.sock`. Podman's Docker-compatible socket works too, e.g. the one
   * `podman system service --time=0 unix:///tmp/podman.sock` listens on.
   */
  socketPath?: string;
  /** The backend id in labels, errors and reports. Default `"docker"`. */
  id?: string;
  /** The run id in this instance's labels. Default: a fresh random id. */
  runId?: string;
  /**
   * For a dockerd in other namespaces (an engine set): the argv prefix that runs its CLI from
   * the host (e.g. `["nsenter", "-t", "4242", "-m", "-n", "--", "docker", "-H",
   * "unix:///run/kh/docker.sock"]`). Becomes `engine.cli`; host-side checks use it. Default:
   * the `docker` client with `DOCKER_HOST` set to this endpoint.
   */
  cli?: readonly string[];
  /** Where that dockerd keeps state, as host paths; becomes `engine.storage`. Default: none declared. */
  storage?: readonly EngineStoragePath[];
}

/** The largest value `createSecret` accepts: 1 MiB (a file; an env variable holds less). */
export const DOCKER_MAX_VALUE_BYTES = 1024 * 1024;

/**
 * The most bytes one environment variable (`NAME=value` plus its NUL) may have: Linux's
 * `MAX_ARG_STRLEN` (32 pages). A larger one makes `execve` of PID 1 fail with E2BIG.
 */
export const MAX_ENV_STRING_BYTES = 32 * 4096;

/** The label that tells one workload's container from the others of a run. */
export const WORKLOAD_LABEL = "keyhole.workload";

/**
 * What the plain Docker baseline can do. There is no engine secret store: values live in the
 * backend instance's memory, and reach the engine only when a run needs them (env: in the
 * container-create request body; files: on the stdin of an exec session that writes them onto
 * a tmpfs). Replacing a value is in place in that memory and affects later runs only.
 */
export const DOCKER_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  envDelivery: true,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: true,
  targetOutsideSecretsDir: false,
  capDrop: true,
  engineSecretStore: false,
  encryptedAtRest: false,
  replaceInPlace: true,
  maxValueBytes: DOCKER_MAX_VALUE_BYTES,
  binarySafe: true,
  // A FIFO on a tmpfs of its own (HostConfig.Tmpfs), fed by an exec session as root.
  readOnce: true,
});

interface StoredSecret {
  bytes: Uint8Array;
  handle: SecretHandle;
}

/**
 * Creates the plain Docker Engine baseline backend: what people do without an orchestrator.
 * Env deliveries become the container's environment (visible in `docker inspect`: that is the
 * finding the seed warns about); file deliveries are written onto a tmpfs at `/run/secrets` from
 * inside the started container, with owner, group and mode, before the workload's command runs.
 * Containers are started with testcontainers (reaper off, never pulling), without a network,
 * labelled with keyhole's ownership labels, and removed on `dispose()`.
 *
 * @example
 * ```ts
 * import { dockerBackend } from "@keyhole/docker";
 * import { ensureProbeImage } from "@keyhole/probe";
 *
 * await using backend = dockerBackend();
 * const token = await backend.createSecret("runner-token", "s3cr3t");
 * await using w = await backend.run({
 *   image: await ensureProbeImage("docker"),
 *   command: ["sleep", "300"],
 *   secrets: [{ secret: token, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
 * });
 * await w.exec(["cat", "/run/secrets/runner-token"], { user: "alice" }); // exitCode 0
 * ```
 */
export function dockerBackend(options: DockerBackendOptions = {}): SecretBackend {
  return new DockerBackend(options);
}

class DockerBackend implements SecretBackend {
  readonly id: string;
  readonly capabilities = DOCKER_CAPABILITIES;
  readonly runId: string;
  readonly #target: LocalDockerEndpoint;
  readonly #cli: readonly string[] | undefined;
  readonly #storage: readonly EngineStoragePath[] | undefined;
  readonly #docker: Dockerode;
  readonly #tracker: ResourceTracker;
  readonly #secrets = new Map<string, StoredSecret>();
  #engine: EngineInfo;
  #ready: Promise<{ version: string }> | undefined;
  #connected = false;
  #seq = 0;

  constructor(options: DockerBackendOptions) {
    const id = options.id ?? "docker";
    if (typeof id !== "string" || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) {
      throw new InvalidInputError(
        "docker",
        `The backend id ${JSON.stringify(id)} is not allowed. Use lowercase letters, digits and "-", e.g. "docker".`,
      );
    }
    this.id = id;
    const runId = options.runId ?? newRunId();
    if (typeof runId !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(runId)) {
      throw new InvalidInputError(
        id,
        `The run id ${JSON.stringify(runId)} is not allowed. Use up to 64 letters, digits, "_", "." and "-".`,
      );
    }
    this.runId = runId;
    this.#target = resolveLocalEndpoint(id, options.socketPath);
    this.#docker = new Dockerode({ socketPath: this.#target.socketPath });
    this.#tracker = new ResourceTracker(id);
    this.#cli = options.cli ? Object.freeze([...options.cli]) : undefined;
    this.#storage = options.storage ? Object.freeze([...options.storage]) : undefined;
    this.#engine = this.#engineInfo("docker", "docker");
  }

  get engine(): EngineInfo {
    return this.#engine;
  }

  ready(): Promise<{ version: string }> {
    this.#ready ??= this.#probe();
    // A failure is not cached: the next call asks again (e.g. after dockerd was started).
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  async #probe(): Promise<{ version: string }> {
    let version: Dockerode.DockerVersion;
    try {
      version = await this.#docker.version();
    } catch (error) {
      throw toKeyholeError(this.id, this.#target.endpoint, "answer a version request", error);
    }
    const components = (version as { Components?: Array<{ Name?: string }> }).Components ?? [];
    // Podman's compat API answers /version like dockerd, but names itself in Components.
    if (components.some((c) => /podman/i.test(c.Name ?? ""))) {
      this.#engine = this.#engineInfo("podman", "podman (Docker-compatible API)");
    }
    return { version: version.Version };
  }

  #engineInfo(kind: "docker" | "podman", name: string): EngineInfo {
    return Object.freeze({
      kind,
      name,
      endpoint: this.#target.endpoint,
      env: Object.freeze({ DOCKER_HOST: this.#target.endpoint }),
      ...(this.#cli ? { cli: this.#cli } : {}),
      ...(this.#storage ? { storage: this.#storage } : {}),
    });
  }

  async createSecret(
    name: string,
    value: SecretValue,
    options: CreateSecretOptions = {},
  ): Promise<SecretHandle> {
    validateSecretName(this.id, name);
    // A copy, so a caller that reuses its buffer cannot change (or see us zero) the secret.
    const bytes = Uint8Array.from(validateValue(this.id, value, this.capabilities.maxValueBytes));
    const labels = this.#checkLabels(options?.labels);
    if (this.#secrets.has(name)) {
      throw new SecretExistsError(
        this.id,
        `A secret named ${JSON.stringify(name)} already exists in this backend instance. Choose another name, or change its value with replaceSecret().`,
      );
    }
    registerSecretValue(bytes);
    const handle = this.#handle(name, bytes, ownershipLabels(this.id, this.runId, labels));
    this.#secrets.set(name, { bytes, handle });
    return handle;
  }

  async replaceSecret(secret: SecretHandle, value: SecretValue): Promise<SecretHandle> {
    const stored = this.#stored(secret);
    const bytes = Uint8Array.from(validateValue(this.id, value, this.capabilities.maxValueBytes));
    registerSecretValue(bytes);
    stored.bytes.fill(0);
    const handle = this.#handle(stored.handle.name, bytes, stored.handle.labels);
    this.#secrets.set(handle.name, { bytes, handle });
    return handle;
  }

  async removeSecret(secret: SecretHandle): Promise<void> {
    const stored = this.#stored(secret);
    stored.bytes.fill(0);
    this.#secrets.delete(stored.handle.name);
  }

  async listSecrets(): Promise<SecretHandle[]> {
    return [...this.#secrets.values()].map((s) => s.handle);
  }

  async run(spec: RunSpec): Promise<Workload> {
    const n = validateRunSpec(this.id, this.capabilities, spec);
    const env: Record<string, string> = { ...(n.spec.env ?? {}) };
    for (const d of n.env) env[d.name] = this.#envValue(d.secret, d.name);
    const files = n.files.map((d) => ({ delivery: d, bytes: this.#stored(d.secret).bytes }));
    this.#checkNesting(n.files);
    this.#checkChown(n.spec, n.files);

    await this.ready();
    // Binds testcontainers to this endpoint (or refuses if it is bound to another one).
    await testcontainersClient(this.id, this.#target);
    this.#connected = true;
    const onceDirs = onceTmpfsDirs(n.once);
    const gatedRun = files.length > 0 || onceDirs.length > 0;
    const argv = await this.#resolveArgv(n.spec, gatedRun);

    const nonce = randomBytes(4).toString("hex");
    const labels = {
      ...ownershipLabels(this.id, this.runId, this.#checkLabels(n.spec.labels)),
      [WORKLOAD_LABEL]: nonce,
    };
    const container = new KeyholeContainer(n.spec.image)
      .withName(`keyhole-${this.id}-${this.runId}-${++this.#seq}`)
      .withLabels(labels)
      .withNetworkMode("none")
      .withAutoCleanup(false)
      .withStopTimeout(0);
    if (Object.keys(env).length > 0) container.withEnvironment(env);
    if (n.spec.user !== undefined) container.withUser(n.spec.user);
    if (n.spec.capDrop?.length) container.withDroppedCapabilities(...n.spec.capDrop);
    if (n.spec.capAdd?.length) container.withAddedCapabilities(...n.spec.capAdd);
    if (gatedRun) {
      // PID 1 waits for the files and for the read-once FIFOs (their directories' ready marker).
      const gated = gatedCommand(
        [
          ...files.map((f) => f.delivery.target),
          ...onceDirs.map((d) => `${d}/${ONCE_READY_MARKER}`),
        ],
        argv ?? [],
      );
      container
        .withTmpFs({
          ...(files.length > 0 ? { [SECRETS_DIR]: "mode=0755" } : {}),
          // Read-once FIFOs never live on the secrets tmpfs; each directory gets its own.
          ...Object.fromEntries(onceDirs.map((d) => [d, "mode=0755,size=64k,noexec,nosuid,nodev"])),
        })
        .withEntrypoint(gated.entrypoint)
        .withCommand(gated.command);
    } else if (argv !== undefined) {
      container.withCommand(argv);
    }
    let containerId: string | undefined;
    container.onCreated((id) => {
      containerId = id;
    });

    // Tracked before the create request, so a Ctrl-C while it is in flight still removes it.
    const key = `container:${nonce}`;
    this.#tracker.add(key, () => this.#removeByLabel(`${WORKLOAD_LABEL}=${nonce}`));
    try {
      const started = await container.start().catch((error: unknown) => {
        throw this.#startError(error, files.length > 0);
      });
      containerId = started.getId();
      const target: ExecTarget = {
        docker: this.#docker,
        containerId,
        backendId: this.id,
        endpoint: this.#target.endpoint,
      };
      if (files.length > 0) await putFiles(target, files);
      // dockerd refuses privileged exec on hosts with a reduced bounding set ("unable to apply
      // caps"), so the writer runs with root's default capabilities and looks as each uid.
      const once = await startOnceDeliveries(
        this.id,
        (a, o) => execInContainer(target, a, o),
        n.once,
        { privileged: false },
      );
      if (gatedRun) await waitForGate(target);
      return new DockerWorkload({
        once,
        target,
        started,
        deliveries: n.files,
        stopped: async () => {
          this.#tracker.forget(key);
        },
        sweep: () => this.#removeByLabel(`${WORKLOAD_LABEL}=${nonce}`),
      });
    } catch (error) {
      // Whatever got created goes, found by its label (testcontainers leaves a container that
      // was created but failed to start).
      await this.#removeByLabel(`${WORKLOAD_LABEL}=${nonce}`).catch(() => {});
      this.#tracker.forget(key);
      throw toKeyholeError(
        this.id,
        this.#target.endpoint,
        `start the workload${containerId ? ` ${containerId.slice(0, 12)}` : ""}`,
        error,
      );
    }
  }

  async dispose(): Promise<void> {
    let failure: unknown;
    try {
      await this.#tracker.disposeAll();
    } catch (error) {
      failure = error;
    }
    if (this.#connected) {
      // Belt and braces: anything of this run the tracker did not know about.
      try {
        await this.#removeByLabel(`${KEYHOLE_RUN_LABEL}=${this.runId}`, [
          `${KEYHOLE_BACKEND_LABEL}=${this.id}`,
        ]);
      } catch (error) {
        failure ??= error;
      }
    }
    for (const s of this.#secrets.values()) s.bytes.fill(0);
    this.#secrets.clear();
    if (failure !== undefined) {
      throw toKeyholeError(this.id, this.#target.endpoint, "remove this run's containers", failure);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** Removes every container (running or not) carrying all of the given labels. */
  async #removeByLabel(label: string, more: string[] = []): Promise<void> {
    const list = await this.#docker.listContainers({
      all: true,
      filters: { label: [label, ...more] },
    });
    for (const c of list) {
      try {
        await this.#docker.getContainer(c.Id).remove({ force: true, v: true });
      } catch (error) {
        // 404: gone already; 409: the engine is already removing it.
        const status = engineStatus(error);
        if (status !== 404 && status !== 409) throw error;
      }
    }
  }

  #handle(name: string, bytes: Uint8Array, labels: Readonly<Record<string, string>>) {
    return Object.freeze({
      name,
      id: name,
      backendId: this.id,
      labels: Object.freeze({ ...labels }),
      size: bytes.length,
      envSafe: !bytes.includes(0),
    });
  }

  #stored(secret: SecretHandle): StoredSecret {
    const name = (secret as Partial<SecretHandle> | undefined)?.name;
    if (typeof name !== "string") {
      throw new InvalidInputError(
        this.id,
        `A secret must be a handle returned by createSecret(), got ${typeName(secret)}.`,
      );
    }
    if (secret.backendId !== this.id) {
      throw new InvalidInputError(
        this.id,
        `The secret ${JSON.stringify(name)} was created by backend ${JSON.stringify(secret.backendId)}, not this one. Create it with this backend's createSecret().`,
      );
    }
    const stored = this.#secrets.get(name);
    if (!stored) {
      throw new SecretNotFoundError(
        this.id,
        `This backend instance has no secret named ${JSON.stringify(name)} (removed, disposed, or created by another instance: docker secrets live only in the memory of the instance that created them). Create it with createSecret().`,
      );
    }
    return stored;
  }

  /** The value of an env delivery as text, or why the kernel / the API cannot carry it. */
  #envValue(secret: SecretHandle, name: string): string {
    const { bytes } = this.#stored(secret);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new InvalidInputError(
        this.id,
        `The secret ${JSON.stringify(secret.name)} is not valid UTF-8, which the Docker API (JSON) cannot carry as the environment variable ${name}. Deliver it as a file.`,
      );
    }
    const size = Buffer.byteLength(`${name}=`) + bytes.length + 1;
    if (size > MAX_ENV_STRING_BYTES) {
      throw new SecretTooLargeError(
        this.id,
        `The secret ${JSON.stringify(secret.name)} is ${bytes.length} bytes; as ${name}=… it takes ${size} bytes, over Linux's ${MAX_ENV_STRING_BYTES}-byte limit for one environment variable (MAX_ARG_STRLEN). Deliver it as a file.`,
      );
    }
    return text;
  }

  #checkNesting(files: readonly NormalizedFileDelivery[]): void {
    for (const a of files) {
      for (const b of files) {
        if (b.target.startsWith(`${a.target}/`)) {
          throw new InvalidInputError(
            this.id,
            `The file target ${b.target} is inside another delivery's file ${a.target}. Give each a path of its own, e.g. ${a.target}-2.`,
          );
        }
      }
    }
  }

  /** Files owned by someone other than root are chowned inside, which needs `CAP_CHOWN`. */
  #checkChown(spec: RunSpec, files: readonly NormalizedFileDelivery[]): void {
    const dropped = (spec.capDrop ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ""));
    if (!dropped.includes("CHOWN") && !dropped.includes("ALL")) return;
    const owned = files.find((f) => (f.uid ?? 0) !== 0 || (f.gid ?? 0) !== 0);
    if (owned) {
      throw new UnsupportedDeliveryError(
        this.id,
        `This backend sets a file's owner from inside the container, which needs CAP_CHOWN, but the run drops it (${owned.target} is for ${owned.uid ?? 0}:${owned.gid ?? 0}). Keep CHOWN (drop the other capabilities by name), or deliver the file as uid/gid 0.`,
      );
    }
  }

  #checkLabels(labels: unknown): Record<string, string> {
    if (labels === undefined) return {};
    if (
      typeof labels !== "object" ||
      labels === null ||
      Object.values(labels).some((v) => typeof v !== "string")
    ) {
      throw new InvalidInputError(
        this.id,
        'labels must be an object of string values, e.g. { team: "ci" }.',
      );
    }
    return labels as Record<string, string>;
  }

  /**
   * The workload's argv: the run's command, else the image's. Only needed exactly when files
   * are delivered (the gate runs it after them), then as Docker would: entrypoint + command.
   * The image must be present: keyhole never pulls.
   */
  async #resolveArgv(spec: RunSpec, gated: boolean): Promise<string[] | undefined> {
    let config: { Entrypoint?: string[] | string | null; Cmd?: string[] | string | null };
    try {
      config = (await this.#docker.getImage(spec.image).inspect()).Config ?? {};
    } catch (error) {
      if (engineStatus(error) === 404) {
        throw new InvalidInputError(
          this.id,
          `The image ${JSON.stringify(spec.image)} is not in the engine at ${this.#target.endpoint}, and keyhole never pulls. Load it first, e.g. \`await ensureProbeImage("docker")\` from @keyhole/probe, or \`docker load\`.`,
        );
      }
      throw toKeyholeError(
        this.id,
        this.#target.endpoint,
        `inspect the image ${spec.image}`,
        error,
      );
    }
    if (!gated) return spec.command;
    const list = (v: string[] | string | null | undefined) =>
      v == null ? [] : typeof v === "string" ? ["/bin/sh", "-c", v] : v;
    const argv = [...list(config.Entrypoint), ...(spec.command ?? list(config.Cmd))];
    if (argv.length === 0) {
      throw new InvalidInputError(
        this.id,
        `The image ${JSON.stringify(spec.image)} has no command and the run names none. Pass one, e.g. command: ["sleep", "300"].`,
      );
    }
    return argv;
  }

  #startError(error: unknown, gated: boolean): unknown {
    const text = String((error as { message?: unknown })?.message ?? error);
    if (gated && /\/bin\/sh/.test(text) && /no such file|not found/i.test(text)) {
      return new EngineError(
        this.id,
        `The image has no /bin/sh, which file delivery needs to write files onto the tmpfs from inside. Use an image with a shell (the probe image has busybox), or deliver as env.`,
        { cause: error },
      );
    }
    return error;
  }
}
