import {
  type Capabilities,
  type CreateSecretOptions,
  type EngineInfo,
  type EngineStoragePath,
  EngineUnavailableError,
  InvalidInputError,
  KEYHOLE_BACKEND_LABEL,
  KEYHOLE_RUN_LABEL,
  newRunId,
  ownershipLabels,
  ResourceTracker,
  type RunSpec,
  registerSecretValue,
  type SecretBackend,
  type SecretHandle,
  type SecretValue,
  startOnceDeliveries,
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";
import {
  type DockerConnectionOptions,
  dockerClient,
  engineStatus,
  resolveDockerEndpoint,
  SETUP_FIX,
  SWARM_INIT_FIX,
  toKeyholeError,
} from "@keyhole/docker-api";
import type Dockerode from "dockerode";
import { type SwarmNodeEndpoint, SwarmNodes } from "./cluster-nodes.js";
import { secretCreateError, secretMissingError } from "./secret-errors.js";
import { removeService } from "./service-removal.js";
import { buildServiceSpec } from "./service-spec.js";
import { SwarmWorkload } from "./swarm-workload.js";
import { waitForRunningTask } from "./task-wait.js";

/** The id of this backend, in labels, errors and reports. */
export const DOCKER_SWARM_BACKEND_ID = "docker-swarm";

/**
 * What Docker Swarm secrets can do, measured on Docker 20.10.24:
 * - no env delivery (Swarm has no way to put a secret into the environment);
 * - files with uid/gid/mode, on a read-only tmpfs (so they cannot be scrubbed);
 * - absolute targets outside `/run/secrets` are mounted where asked (e.g. `/etc/app/token`);
 * - secrets are immutable (no replace in place); values of 1…511 999 bytes (512 000 is refused:
 *   "secret data must be larger than 0 and less than 512000 bytes");
 * - the raft store on the manager is encrypted (the value is not found in plaintext or base64
 *   under /var/lib/docker); a running task's copy is plaintext on a host tmpfs.
 */
export const DOCKER_SWARM_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  envDelivery: false,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: false,
  targetOutsideSecretsDir: true,
  capDrop: true,
  engineSecretStore: true,
  encryptedAtRest: true,
  replaceInPlace: false,
  maxValueBytes: 511_999,
  binarySafe: true,
  // A FIFO on a tmpfs mount the service spec declares, fed by an exec on the task's container.
  readOnce: true,
});

/** Options of {@link dockerSwarmBackend}. */
export interface DockerSwarmOptions extends DockerConnectionOptions {
  /** Extra labels on every secret and service; keyhole's ownership labels always win. */
  labels?: Record<string, string>;
  /** The run id in this instance's labels. Default: a fresh random id. */
  runId?: string;
  /** How long `run` waits for the task to be running. Default 60 000 ms. */
  startTimeoutMs?: number;
  /** How long `stop`/`dispose` wait for a removed service's container to go. Default 30 000 ms. */
  stopTimeoutMs?: number;
  /**
   * The nodes of a multi-node swarm, each with its own engine endpoint, so `exec`, `stop` and
   * host-side checks reach the node that runs a task (the manager cannot exec into a worker's
   * container). `scripts/cluster.mjs` writes them; see {@link swarmClusterOptions}. Default none:
   * every task is taken to run on the manager's engine (a one-node swarm).
   */
  nodes?: readonly SwarmNodeEndpoint[];
  /**
   * Where tasks may run, so runs are reproducible on a cluster: `node` pins every task to the
   * node of that name in `nodes`; `constraints` are Swarm placement constraints
   * (`"node.role==worker"`). Default: anywhere.
   */
  placement?: { node?: string; constraints?: readonly string[] };
  /**
   * argv prefix that kills (`… kill <node>`) and restarts (`… start <node>`) a node, for the
   * node-loss checks (`engine.cluster.control`). Default none: those checks are not applicable.
   */
  nodeControl?: readonly string[];
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

interface SecretInfo {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

/**
 * Creates a backend that delivers Docker Swarm secrets as files into one-task Swarm services,
 * through the Docker Engine API. The Docker engine must be a swarm manager
 * (`docker swarm init --advertise-addr 127.0.0.1`); call `ready()` to check.
 *
 * @example
 * ```ts
 * await using backend = dockerSwarmBackend();
 * await backend.ready();
 * const token = await backend.createSecret("runner-token", "s3cr3t");
 * const w = await backend.run({
 *   image: await ensureProbeImage("docker"),
 *   command: ["sleep", "300"],
 *   secrets: [{ secret: token, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
 * });
 * await w.exec(["cat", "/run/secrets/runner-token"], { user: "2000" });
 * ```
 */
export function dockerSwarmBackend(options: DockerSwarmOptions = {}): SecretBackend {
  return new DockerSwarmBackend(options);
}

class DockerSwarmBackend implements SecretBackend {
  readonly id = DOCKER_SWARM_BACKEND_ID;
  readonly capabilities = DOCKER_SWARM_CAPABILITIES;
  readonly #engine: EngineInfo;
  readonly runId: string;
  readonly #nodes: SwarmNodes;
  readonly #placement: DockerSwarmOptions["placement"];
  readonly #docker: Dockerode;
  readonly #endpoint: string;
  readonly #labels: Record<string, string>;
  readonly #tracker = new ResourceTracker(DOCKER_SWARM_BACKEND_ID);
  /** Size and env-safety of the secrets this instance created; Swarm never returns the data. */
  readonly #known = new Map<string, { size: number; envSafe: boolean }>();
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  #services = 0;

  constructor(options: DockerSwarmOptions) {
    const target = resolveDockerEndpoint(this.id, options);
    this.#docker = dockerClient(this.id, target);
    this.#endpoint = target.endpoint;
    this.#engine = Object.freeze({
      kind: "docker",
      name: "docker swarm",
      endpoint: target.endpoint,
      ...(options.cli ? { cli: Object.freeze([...options.cli]) } : {}),
      ...(options.storage ? { storage: Object.freeze([...options.storage]) } : {}),
    });
    this.#nodes = new SwarmNodes(this.id, options.nodes ?? [], options.nodeControl);
    this.#placement = options.placement;
    this.runId = options.runId ?? newRunId();
    this.#labels = { ...options.labels };
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  }

  /** The engine; on a cluster, `cluster` lists the nodes once `ready()` (or a run) resolved them. */
  get engine(): EngineInfo {
    const cluster = this.#nodes.cluster;
    if (!cluster) return this.#engine;
    const managers = cluster.nodes.filter((n) => n.role === "manager").length;
    return Object.freeze({
      ...this.#engine,
      name: `docker swarm, ${cluster.nodes.length} nodes (${managers} manager${managers === 1 ? "" : "s"})`,
      cluster,
    });
  }

  async ready(): Promise<{ version: string }> {
    let version: string;
    let state: string;
    let manager: boolean;
    try {
      const v = await this.#docker.version();
      version = v.Version;
      const info = (await this.#docker.info()) as {
        Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
      };
      state = info.Swarm?.LocalNodeState ?? "inactive";
      manager = info.Swarm?.ControlAvailable === true;
    } catch (error) {
      const e = toKeyholeError(this.id, this.#endpoint, "answer a version request", error);
      if (e.code === "ENGINE_UNAVAILABLE") throw e;
      throw new EngineUnavailableError(
        this.id,
        `dockerd at ${this.#endpoint} did not answer properly (${e.message}).`,
        SETUP_FIX,
        { cause: error },
      );
    }
    if (state !== "active") {
      throw new EngineUnavailableError(
        this.id,
        `The Docker engine at ${this.#endpoint} (${version}) is not part of a swarm (state: ${state}).`,
        SWARM_INIT_FIX,
      );
    }
    if (!manager) {
      throw new EngineUnavailableError(
        this.id,
        `The Docker engine at ${this.#endpoint} is a swarm worker; secrets and services can only be created on a manager.`,
        "docker node promote <this node>",
      );
    }
    if (this.#nodes.enabled) await this.#nodes.resolve();
    return { version };
  }

  async createSecret(
    name: string,
    value: SecretValue,
    options: CreateSecretOptions = {},
  ): Promise<SecretHandle> {
    validateSecretName(this.id, name);
    const bytes = validateValue(this.id, value, this.capabilities.maxValueBytes);
    // Registered before the engine sees it, so an engine error that echoes it is redacted. It
    // stays registered: exec output captured while it existed may be reported later.
    registerSecretValue(bytes);
    const labels = ownershipLabels(this.id, this.runId, { ...this.#labels, ...options.labels });
    let id: string;
    try {
      // The value travels only inside this request body (base64, as the API wants).
      const secret = await this.#docker.createSecret({
        Name: name,
        Labels: labels,
        Data: Buffer.from(bytes).toString("base64"),
      });
      id = (secret as { id: string }).id;
    } catch (error) {
      throw secretCreateError(this.id, this.#endpoint, name, error);
    }
    const envSafe = !bytes.includes(0);
    this.#known.set(id, { size: bytes.length, envSafe });
    this.#tracker.add(`secret:${id}`, () => this.#removeSecretById(id, name, true));
    return Object.freeze({ name, id, backendId: this.id, labels, size: bytes.length, envSafe });
  }

  async replaceSecret(secret: SecretHandle, _value: SecretValue): Promise<SecretHandle> {
    throw new UnsupportedDeliveryError(
      this.id,
      `Swarm secrets are immutable, so ${JSON.stringify(secret?.name)} cannot be replaced in place. Create a new secret under a new name (e.g. "${secret?.name ?? "name"}-v2"), run the workload with it, then remove the old one.`,
    );
  }

  async removeSecret(secret: SecretHandle): Promise<void> {
    this.#checkHandle(secret);
    await this.#removeSecretById(secret.id, secret.name, false);
  }

  async listSecrets(): Promise<SecretHandle[]> {
    let infos: SecretInfo[];
    try {
      infos = (await this.#docker.listSecrets({
        filters: {
          label: [`${KEYHOLE_RUN_LABEL}=${this.runId}`, `${KEYHOLE_BACKEND_LABEL}=${this.id}`],
        },
      })) as SecretInfo[];
    } catch (error) {
      throw toKeyholeError(this.id, this.#endpoint, "list secrets", error);
    }
    return infos.map((s) => {
      const known = this.#known.get(s.ID);
      return Object.freeze({
        name: s.Spec?.Name ?? s.ID,
        id: s.ID,
        backendId: this.id,
        labels: { ...s.Spec?.Labels },
        size: known?.size ?? 0,
        envSafe: known?.envSafe ?? true,
      });
    });
  }

  async run(spec: RunSpec): Promise<Workload> {
    const run = validateRunSpec(this.id, this.capabilities, spec);
    checkSharedSecretFiles(this.id, run.files);
    const { imageId, argv } = await this.#localImage(run.spec);
    const labels = ownershipLabels(this.id, this.runId, { ...this.#labels, ...run.spec.labels });
    const name = `keyhole-${this.runId}-${++this.#services}`;
    const constraints = [...(this.#placement?.constraints ?? [])];
    if (this.#placement?.node !== undefined) {
      if (!this.#nodes.enabled) {
        throw new InvalidInputError(
          this.id,
          "placement.node needs the `nodes` option (a node → endpoint map) to know the node.",
        );
      }
      constraints.push(`node.id==${await this.#nodes.idOf(this.#placement.node)}`);
    }
    let serviceId: string;
    try {
      const service = await this.#docker.createService(
        buildServiceSpec({ name, imageId, run, labels, constraints, argv }),
      );
      serviceId = service.id as string;
    } catch (error) {
      throw toKeyholeError(this.id, this.#endpoint, `create the service ${name}`, error);
    }
    let node: Dockerode | undefined;
    const remove = async () => {
      await removeService(this.#docker, serviceId, {
        backendId: this.id,
        endpoint: this.#endpoint,
        timeoutMs: this.#stopTimeoutMs,
        ...(node ? { node } : {}),
      });
      this.#tracker.forget(`service:${serviceId}`);
    };
    this.#tracker.add(`service:${serviceId}`, remove);
    let containerId: string;
    let target: Awaited<ReturnType<SwarmNodes["byId"]>> | undefined;
    try {
      let nodeId: string;
      ({ containerId, nodeId } = await waitForRunningTask(this.#docker, serviceId, {
        backendId: this.id,
        endpoint: this.#endpoint,
        timeoutMs: this.#startTimeoutMs,
      }));
      // On a cluster the task's container lives on its node: exec and removal go there.
      if (this.#nodes.enabled) {
        target = await this.#nodes.byId(nodeId);
        node = target.docker;
      }
    } catch (error) {
      // A run that fails half-way leaves nothing behind; the start error is what the user needs.
      await remove().catch(() => {});
      throw error;
    }
    const workload = new SwarmWorkload({
      docker: target?.docker ?? this.#docker,
      backendId: this.id,
      endpoint: target?.endpoint ?? this.#endpoint,
      ...(target ? { node: target.name } : {}),
      serviceId,
      containerId,
      user: run.spec.user,
      fileTargets: run.files.map((f) => f.target),
      remove,
    });
    try {
      // Exec reaches the task's container on the daemon that runs it; dockerd refuses
      // privileged exec on hosts with a reduced bounding set, so the writer looks as each uid.
      workload.attachOnce(
        await startOnceDeliveries(this.id, (a, o) => workload.exec(a, o), run.once, {
          privileged: false,
        }),
      );
    } catch (error) {
      await remove().catch(() => {});
      throw error;
    }
    return workload;
  }

  dispose(): Promise<void> {
    return this.#tracker.disposeAll();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /**
   * The local image's id (Swarm tasks given a tag try a registry pull first; an id they do not)
   * and the argv a task of it runs for this spec.
   */
  async #localImage(spec: RunSpec): Promise<{ imageId: string; argv: string[] }> {
    const image = spec.image;
    try {
      const info = await this.#docker.getImage(image).inspect();
      const list = (v: string[] | string | null | undefined) =>
        v == null ? [] : typeof v === "string" ? ["/bin/sh", "-c", v] : v;
      const argv = [...list(info.Config?.Entrypoint), ...(spec.command ?? list(info.Config?.Cmd))];
      return { imageId: info.Id, argv };
    } catch (error) {
      if (engineStatus(error) === 404) {
        throw new InvalidInputError(
          this.id,
          `The image ${JSON.stringify(image)} is not in the local Docker engine, and keyhole never pulls. Build or load it first, e.g. \`await ensureProbeImage("docker")\` from @keyhole/probe.`,
        );
      }
      throw toKeyholeError(this.id, this.#endpoint, `inspect the image ${image}`, error);
    }
  }

  async #removeSecretById(id: string, name: string, missingOk: boolean): Promise<void> {
    try {
      await this.#docker.getSecret(id).remove();
    } catch (error) {
      if (!(missingOk && engineStatus(error) === 404)) {
        throw secretMissingError(this.id, this.#endpoint, name, error);
      }
    }
    this.#tracker.forget(`secret:${id}`);
  }

  #checkHandle(secret: SecretHandle): void {
    if (typeof secret !== "object" || secret === null || typeof secret.id !== "string") {
      throw new InvalidInputError(this.id, "Pass a secret handle returned by createSecret().");
    }
    if (secret.backendId !== this.id) {
      throw new InvalidInputError(
        this.id,
        `The secret ${JSON.stringify(secret.name)} was created by backend ${JSON.stringify(secret.backendId)}, not this one. Remove it with that backend.`,
      );
    }
  }
}

/**
 * Docker 20.10 writes one host file per secret id and bind-mounts it to every target of that
 * secret, so two deliveries of the same secret with different uid/gid/mode silently end up with
 * the last one's owner and mode (measured). Refuse that instead of delivering something weaker.
 */
function checkSharedSecretFiles(
  backendId: string,
  files: ReadonlyArray<{ secret: SecretHandle; uid?: number; gid?: number; mode?: number }>,
): void {
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = `${f.uid ?? 0}:${f.gid ?? 0}:${(f.mode ?? 0o444).toString(8)}`;
    const before = seen.get(f.secret.id);
    if (before !== undefined && before !== key) {
      throw new UnsupportedDeliveryError(
        backendId,
        `The secret ${JSON.stringify(f.secret.name)} is delivered twice with different owner or mode (${before} and ${key}); Swarm mounts one file per secret, so both would get the same. Use one delivery, or create a second secret.`,
      );
    }
    seen.set(f.secret.id, key);
  }
}
