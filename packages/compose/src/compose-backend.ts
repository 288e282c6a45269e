import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Capabilities,
  type CreateSecretOptions,
  EngineError,
  type EngineInfo,
  type EngineStoragePath,
  EngineUnavailableError,
  InvalidInputError,
  newRunId,
  ownershipLabels,
  ResourceTracker,
  type RunSpec,
  redact,
  registerSecretValue,
  type SecretBackend,
  SecretExistsError,
  type SecretHandle,
  SecretNotFoundError,
  type SecretValue,
  typeName,
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";
import {
  dockerClient,
  engineStatus,
  isConnectionError,
  resolveDockerEndpoint,
  toKeyholeError,
} from "@keyhole/docker-api";
import type Dockerode from "dockerode";
import { lastLines, runCompose } from "./compose-cli.js";
import {
  type ComposeProjectSecret,
  type ComposeSecretSource,
  composeProjectJson,
  envFileProblem,
  envFileText,
} from "./compose-project.js";
import { serveFifo } from "./env-fifo.js";
import { DEFAULT_SCRATCH_DIR, PROJECT_LABEL, projectName } from "./project-name.js";
import { ComposeWorkload } from "./workload.js";

/** Options of {@link composeFileBackend} and {@link composeEnvBackend}. */
export interface ComposeBackendOptions {
  /**
   * argv prefix that runs the engine's `docker` CLI against its daemon, e.g. the `nsenter -t
   * <pid> -m -n -- … docker -H unix:///run/kh/docker.sock` prefix of an engine set (see
   * {@link engineSetComposeOptions}). Default `["docker"]`.
   */
  cli?: readonly string[];
  /** argv prefix that runs Compose v2. Default: `cli` followed by `compose` (the plugin). */
  composeCli?: readonly string[];
  /** The daemon's Docker-API unix socket as seen from this host. Default `/var/run/docker.sock`. */
  socketPath?: string;
  /**
   * Where, on this host, the filesystem root that Compose and the daemon see is: `/` for the
   * host's own engine, the root filesystem of an engine set otherwise. Default `/`.
   */
  root?: string;
  /**
   * The directory (as Compose and the daemon see it) under which every workload gets a private
   * `0700` directory for its compose file and, for `file:` sources, the `0600` copies of the
   * values. Default `/run/keyhole-compose` (a tmpfs on Debian: the copies never reach a disk).
   */
  scratchDir?: string;
  /** Host paths where the engine keeps state, for {@link EngineInfo.storage}. Default: none. */
  storage?: readonly EngineStoragePath[];
  /** The command that starts the engine, for `ENGINE_UNAVAILABLE` messages. */
  fix?: string;
  /** The backend id. Default `"compose-file"` / `"compose-env"`. */
  id?: string;
  /** The run id in this instance's labels. Default: a fresh random id. */
  runId?: string;
}

/** The largest value `createSecret` accepts: 1 MiB, like the plain Docker baseline. */
export const COMPOSE_MAX_VALUE_BYTES = 1024 * 1024;

const COMMON: Omit<Capabilities, "fileOwnership" | "fileMode" | "binarySafe"> = {
  envDelivery: false,
  fileDelivery: true,
  scrubAfterUse: false,
  targetOutsideSecretsDir: false,
  capDrop: true,
  engineSecretStore: false,
  encryptedAtRest: false,
  replaceInPlace: false,
  maxValueBytes: COMPOSE_MAX_VALUE_BYTES,
};

/**
 * Compose v2 with `file:` sources: the service's secret is a read-only bind of a host file.
 * Compose ignores `uid`, `gid` and `mode` for them (a warning since 2.21; compose #9648,
 * #10903): the file keeps the host copy's owner and mode, so they are declared unsupported.
 * Byte-exact (the host file holds the bytes as given).
 */
export const COMPOSE_FILE_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  ...COMMON,
  fileOwnership: false,
  fileMode: false,
  binarySafe: true,
});

/**
 * Compose v2 with `environment:` sources: Compose reads the value from its environment and
 * copies it into the container's writable layer, honouring `uid`, `gid` and `mode`. The value
 * is text (NUL, invalid UTF-8 and, in this adapter, `'` cannot travel that way).
 */
export const COMPOSE_ENV_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  ...COMMON,
  fileOwnership: true,
  fileMode: true,
  binarySafe: false,
});

interface StoredSecret {
  bytes: Uint8Array;
  handle: SecretHandle;
}

/**
 * Compose v2 (`docker compose`, non-swarm) with secrets from `file:` sources. Each workload is
 * a project of one service; each delivered secret is written to a `0600` file in a `0700`
 * directory private to the workload (under `scratchDir`, written by this process: the value
 * never enters an argv or an environment) and bound read-only by the engine. The copy exists
 * on the host for as long as the workload runs: that is what `file:` means, and the report's
 * storage scan shows it. `stop()` / `dispose()` / Ctrl-C run `docker compose down` and remove
 * the directory.
 *
 * @example
 * ```ts
 * import { composeFileBackend, engineSetComposeOptions } from "@keyhole/compose";
 * await using backend = composeFileBackend(engineSetComposeOptions());
 * ```
 */
export function composeFileBackend(options: ComposeBackendOptions = {}): SecretBackend {
  return new ComposeBackend("file", options);
}

/**
 * Compose v2 (`docker compose`, non-swarm) with secrets from `environment:` sources. Compose
 * reads such a source from its own environment, which would put the value in the environment
 * of a process on the host; instead the variable comes from Compose's `--env-file`, a FIFO in
 * the workload's private `0700` directory that this process feeds from memory each time
 * Compose opens it. So the value is never in a file, an argv or any process's environment;
 * Compose copies it into the container with the requested owner and mode.
 *
 * @example
 * ```ts
 * import { composeEnvBackend, engineSetComposeOptions } from "@keyhole/compose";
 * await using backend = composeEnvBackend(engineSetComposeOptions());
 * ```
 */
export function composeEnvBackend(options: ComposeBackendOptions = {}): SecretBackend {
  return new ComposeBackend("environment", options);
}

class ComposeBackend implements SecretBackend {
  readonly id: string;
  readonly capabilities: Readonly<Capabilities>;
  readonly runId: string;
  readonly #source: ComposeSecretSource;
  readonly #cli: readonly string[];
  readonly #composeCli: readonly string[];
  readonly #socketPath: string;
  readonly #endpoint: string;
  readonly #root: string;
  readonly #scratch: string;
  readonly #fix: string;
  readonly #docker: Dockerode;
  readonly #tracker: ResourceTracker;
  readonly #secrets = new Map<string, StoredSecret>();
  #engine: EngineInfo;
  #ready: Promise<{ version: string }> | undefined;
  #seq = 0;

  constructor(source: ComposeSecretSource, options: ComposeBackendOptions) {
    this.#source = source;
    const id = options.id ?? (source === "file" ? "compose-file" : "compose-env");
    if (typeof id !== "string" || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) {
      throw new InvalidInputError(
        "compose",
        `The backend id ${JSON.stringify(id)} is not allowed. Use lowercase letters, digits and "-", e.g. "compose-file".`,
      );
    }
    this.id = id;
    this.capabilities = source === "file" ? COMPOSE_FILE_CAPABILITIES : COMPOSE_ENV_CAPABILITIES;
    const runId = options.runId ?? newRunId();
    if (typeof runId !== "string" || !/^[a-z0-9]{1,32}$/.test(runId)) {
      throw new InvalidInputError(
        id,
        `The run id ${JSON.stringify(runId)} is not allowed. Use up to 32 lowercase letters and digits (it is one segment of the Compose project name).`,
      );
    }
    this.runId = runId;
    this.#cli = options.cli ?? ["docker"];
    this.#composeCli = options.composeCli ?? [...this.#cli, "compose"];
    this.#socketPath = options.socketPath ?? "/var/run/docker.sock";
    this.#endpoint = `unix://${this.#socketPath}`;
    this.#root = options.root ?? "/";
    const scratch = options.scratchDir ?? DEFAULT_SCRATCH_DIR;
    if (!scratch.startsWith("/") || scratch.split("/").includes("..")) {
      throw new InvalidInputError(
        id,
        `scratchDir must be an absolute path without "..", e.g. "/run/keyhole-compose"; got ${JSON.stringify(scratch)}.`,
      );
    }
    this.#scratch = scratch;
    this.#fix = options.fix ?? "node scripts/setup.mjs";
    this.#docker = dockerClient(id, resolveDockerEndpoint(id, { socketPath: this.#socketPath }));
    this.#tracker = new ResourceTracker(id);
    this.#engine = Object.freeze({
      kind: "docker",
      name: "docker compose",
      endpoint: this.#endpoint,
      env: Object.freeze({ DOCKER_HOST: this.#endpoint }),
      cli: Object.freeze([...this.#cli]),
      storage: Object.freeze([
        ...(options.storage ?? []),
        // The private dirs: for `file:` sources they hold the host copies of the values.
        { path: this.#hostPath(scratch), kind: "engine" as const },
      ]),
    });
  }

  get engine(): EngineInfo {
    return this.#engine;
  }

  ready(): Promise<{ version: string }> {
    this.#ready ??= this.#probe();
    // A failure is not cached: the next call asks again (e.g. after the engine set was started).
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  async #probe(): Promise<{ version: string }> {
    try {
      await this.#docker.version();
    } catch (error) {
      // A socket that does not answer gets this engine's own fix (e.g. start the engine set).
      if (isConnectionError(error)) {
        throw new EngineUnavailableError(
          this.id,
          `No Docker engine answers on ${this.#endpoint} (${(error as { code?: string }).code}) while trying to answer a version request.`,
          this.#fix,
          { cause: error },
        );
      }
      throw toKeyholeError(this.id, this.#endpoint, "answer a version request", error);
    }
    const r = await runCompose(this.#composeCli, ["version", "--short"], 60_000);
    const version = r.stdout.trim().replace(/^v/, "");
    if (r.code !== 0 || !/^\d+\./.test(version)) {
      throw new EngineUnavailableError(
        this.id,
        `Compose v2 does not run here (${this.#composeCli.join(" ")} version: ${redact(lastLines(r.stderr || r.stdout, 2)) || `exit ${r.code}`}). Install the docker compose plugin (Debian 13's docker-compose package).`,
        this.#fix,
      );
    }
    if (!version.startsWith("2.")) {
      throw new EngineUnavailableError(
        this.id,
        `Compose ${version} is not Compose v2 (v1 is dead upstream and has no non-swarm secrets of this kind). Install Compose v2 (Debian 13's docker-compose package).`,
        this.#fix,
      );
    }
    return { version };
  }

  async createSecret(
    name: string,
    value: SecretValue,
    options: CreateSecretOptions = {},
  ): Promise<SecretHandle> {
    validateSecretName(this.id, name);
    // A copy, so a caller that reuses its buffer cannot change (or see us zero) the secret.
    const bytes = Uint8Array.from(validateValue(this.id, value, this.capabilities.maxValueBytes));
    const labels = checkLabels(this.id, options?.labels);
    if (this.#secrets.has(name)) {
      throw new SecretExistsError(
        this.id,
        `A secret named ${JSON.stringify(name)} already exists in this backend instance. Choose another name.`,
      );
    }
    registerSecretValue(bytes);
    const handle = Object.freeze({
      name,
      id: name,
      backendId: this.id,
      labels: Object.freeze(ownershipLabels(this.id, this.runId, labels)),
      size: bytes.length,
      envSafe: !bytes.includes(0),
    });
    this.#secrets.set(name, { bytes, handle });
    return handle;
  }

  async replaceSecret(secret: SecretHandle, _value: SecretValue): Promise<SecretHandle> {
    this.#stored(secret);
    throw new UnsupportedDeliveryError(
      this.id,
      "Compose has no secret store to update: a project's secrets are read once at `up`. Remove the secret and create it again, then start a new workload.",
    );
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
    const files = n.files.map((d) => ({ delivery: d, bytes: this.#stored(d.secret).bytes }));
    if (this.#source === "environment") {
      for (const f of files) {
        const problem = envFileProblem(f.bytes);
        if (problem) {
          throw new UnsupportedDeliveryError(
            this.id,
            `The secret ${JSON.stringify(f.delivery.secret.name)} cannot be an environment: source: ${problem}. Use a file: source (compose-file) for it.`,
          );
        }
      }
    }
    const labels = ownershipLabels(this.id, this.runId, checkLabels(this.id, n.spec.labels));
    await this.ready();

    const project = projectName(this.id, this.runId, ++this.#seq);
    const dir = join(this.#scratch, project); // as Compose sees it
    const hostDir = this.#hostPath(dir);
    const down = () => this.#down(project, hostDir);
    // Tracked before anything exists, so a Ctrl-C at any point below still removes it all.
    this.#tracker.add(`project:${project}`, down);
    try {
      mkdirSync(this.#hostPath(this.#scratch), { recursive: true, mode: 0o700 });
      mkdirSync(hostDir, { mode: 0o700 });
      const secrets: ComposeProjectSecret[] = files.map((f, i) => ({
        name: `s${i + 1}`,
        from: this.#source === "file" ? join(dir, `s${i + 1}`) : `KEYHOLE_SECRET_${i + 1}`,
        target: f.delivery.target,
        ...(f.delivery.uid === undefined ? {} : { uid: f.delivery.uid }),
        ...(f.delivery.gid === undefined ? {} : { gid: f.delivery.gid }),
        ...(f.delivery.mode === undefined ? {} : { mode: f.delivery.mode }),
      }));
      if (this.#source === "file") {
        // Written by this process: the value goes from memory to the file, through no argv/env.
        files.forEach((f, i) => {
          writeFileSync(join(hostDir, `s${i + 1}`), f.bytes, { mode: 0o600, flag: "wx" });
        });
      }
      const composeFile = join(dir, "compose.json");
      writeFileSync(
        this.#hostPath(composeFile),
        composeProjectJson({
          project,
          source: this.#source,
          image: n.spec.image,
          ...(n.spec.command === undefined ? {} : { command: n.spec.command }),
          ...(n.spec.user === undefined ? {} : { user: n.spec.user }),
          ...(n.spec.env === undefined ? {} : { env: n.spec.env }),
          ...(n.spec.capDrop === undefined ? {} : { capDrop: n.spec.capDrop }),
          ...(n.spec.capAdd === undefined ? {} : { capAdd: n.spec.capAdd }),
          labels,
          secrets,
        }),
        { mode: 0o600, flag: "wx" },
      );
      const args = ["-p", project, "-f", composeFile];
      let fifo: ReturnType<typeof serveFifo> | undefined;
      let envBytes: Buffer | undefined;
      if (this.#source === "environment" && files.length > 0) {
        const envFile = join(dir, "env.fifo");
        const made = spawnSync("mkfifo", ["-m", "600", this.#hostPath(envFile)], {
          encoding: "utf8",
        });
        if (made.status !== 0) {
          throw new EngineError(
            this.id,
            `Could not make the env-file FIFO in ${hostDir}: ${made.stderr || made.error?.message}. Check that the directory is writable and mkfifo (coreutils) is installed.`,
          );
        }
        const text = envFileText(
          files.map((f, i) => ({
            name: `KEYHOLE_SECRET_${i + 1}`,
            value: Buffer.from(f.bytes).toString("utf8"),
          })),
        );
        envBytes = Buffer.from(text, "utf8");
        fifo = serveFifo(this.#hostPath(envFile), envBytes);
        args.push("--env-file", envFile);
      }
      let up: Awaited<ReturnType<typeof runCompose>>;
      try {
        up = await runCompose(this.#composeCli, [...args, "up", "-d", "--no-build"]);
      } finally {
        // Compose has read what it needs; the env file's text goes from memory too.
        await fifo?.close();
        envBytes?.fill(0);
      }
      if (up.code !== 0) {
        throw new EngineError(
          this.id,
          `docker compose up failed for project ${project} (exit ${up.code}): ${redact(lastLines(up.stderr || up.stdout))}`,
        );
      }
      const containers = await this.#docker.listContainers({
        all: true,
        filters: { label: [`${PROJECT_LABEL}=${project}`] },
      });
      const container = containers[0];
      if (!container || containers.length !== 1) {
        throw new EngineError(
          this.id,
          `docker compose up succeeded but the engine lists ${containers.length} container(s) of project ${project}, not 1. Check \`docker compose -p ${project} ps\`.`,
        );
      }
      if (container.State !== "running") {
        throw new EngineError(
          this.id,
          `The workload of project ${project} is ${container.State} right after up (${container.Status}). Check the image's command.`,
        );
      }
      return new ComposeWorkload({
        target: {
          docker: this.#docker,
          containerId: container.Id,
          backendId: this.id,
          endpoint: this.#endpoint,
        },
        deliveries: n.files,
        stop: async () => {
          await down();
          this.#tracker.forget(`project:${project}`);
        },
      });
    } catch (error) {
      await down().catch(() => {});
      this.#tracker.forget(`project:${project}`);
      throw toKeyholeError(this.id, this.#endpoint, `start project ${project}`, error);
    }
  }

  /** `docker compose down` of one project, then its private directory (with any value copies). */
  async #down(project: string, hostDir: string): Promise<void> {
    const r = await runCompose(this.#composeCli, [
      "-p",
      project,
      "down",
      "--timeout",
      "0",
      "--volumes",
      "--remove-orphans",
    ]);
    rmSync(hostDir, { recursive: true, force: true });
    if (r.code !== 0) {
      // down could not run (engine gone?): remove the containers through the API instead.
      const left = await this.#docker
        .listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`] } })
        .catch(() => []);
      for (const c of left) {
        await this.#docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((error: unknown) => {
            if (engineStatus(error) !== 404 && engineStatus(error) !== 409) throw error;
          });
      }
      if (left.length === 0 && !/no such|not found|no resource/i.test(r.stderr)) {
        throw new EngineError(
          this.id,
          `docker compose down failed for project ${project} (exit ${r.code}): ${redact(lastLines(r.stderr))}. Run \`keyhole gc --run ${this.runId}\`.`,
        );
      }
    }
  }

  async dispose(): Promise<void> {
    try {
      await this.#tracker.disposeAll();
    } finally {
      for (const s of this.#secrets.values()) s.bytes.fill(0);
      this.#secrets.clear();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** A path as Compose and the daemon see it → the same file as seen from this host. */
  #hostPath(path: string): string {
    return this.#root === "/" ? path : join(this.#root, path);
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
        `This backend instance has no secret named ${JSON.stringify(name)} (removed, disposed, or created by another instance: compose secrets live only in the memory of the instance that created them). Create it with createSecret().`,
      );
    }
    return stored;
  }
}

function checkLabels(backendId: string, labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (
    typeof labels !== "object" ||
    labels === null ||
    Object.values(labels).some((v) => typeof v !== "string")
  ) {
    throw new InvalidInputError(
      backendId,
      'labels must be an object of string values, e.g. { team: "ci" }.',
    );
  }
  return labels as Record<string, string>;
}
