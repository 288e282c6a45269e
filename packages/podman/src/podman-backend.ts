import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Capabilities,
  type CreateSecretOptions,
  EngineError,
  type EngineInfo,
  type EngineStoragePath,
  InvalidInputError,
  newRunId,
  onceGatedCommand,
  onceTmpfsDirs,
  ownershipLabels,
  podmanContainersConf,
  podmanEnv,
  ResourceTracker,
  type RunSpec,
  registerSecretValue,
  type SecretBackend,
  SecretExistsError,
  type SecretHandle,
  SecretNotFoundError,
  type SecretValue,
  startOnceDeliveries,
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";
import { engineCause, engineMessage, LibpodClient } from "./libpod-client.js";
import {
  createThrowawayPassStore,
  type PassStore,
  readStoreKey,
  stopGpgAgent,
} from "./pass-store.js";
import { acquireSharedService, once, sharedSocketPath } from "./podman-service.js";
import { PodmanWorkload, removeContainer } from "./podman-workload.js";

/**
 * The largest value Podman 4.x stores: "secret data must be larger than 0 and less than
 * 512000 bytes" (containers/common pkg/secrets).
 */
export const PODMAN_MAX_SECRET_BYTES = 511_999;

/** Options shared by {@link podmanFileBackend} and {@link podmanPassBackend}. */
export interface PodmanBackendOptions {
  /**
   * Use this existing libpod API socket (e.g. `/run/podman/podman.sock`) instead of starting
   * a private `podman system service`. Default: keyhole starts one on first use, shared by
   * every Podman backend of this process with the same `podmanPath` and containers.conf, and
   * stops it when the last of them is disposed.
   */
  socketPath?: string;
  /** The `podman` binary. Default `"podman"` (from `PATH`). */
  podmanPath?: string;
  /** The run id in labels. Default: a fresh random id. */
  runId?: string;
  /** How long to wait for a started service to answer, in ms. Default 30000. */
  startTimeoutMs?: number;
  /**
   * For a Podman in other namespaces (an engine set): the argv prefix that runs its CLI from
   * the host, e.g. `["nsenter", "-t", "4242", "-m", "-n", "--", "podman", "--remote", "--url",
   * "unix:///run/kh/podman.sock"]`. Becomes `engine.cli`; host-side checks use it. Default:
   * `podman` from `PATH`.
   */
  cli?: readonly string[];
  /** Where that Podman keeps state, as host paths; becomes `engine.storage`. Default: none declared. */
  storage?: readonly EngineStoragePath[];
  /**
   * For a Podman in another mount namespace: a directory both sides see, as the host names it
   * (`path`) and as Podman does (`enginePath`), e.g. an engine set's `/tmp`. The throwaway pass
   * store is made there, so the driver's gpg (run by that Podman) can read it. Default: the
   * host's temp dir.
   */
  sharedDir?: { path: string; enginePath: string };
}

/** Options of {@link podmanPassBackend}: a store of your own, or (default) a throwaway one. */
export interface PodmanPassBackendOptions extends PodmanBackendOptions {
  /** GnuPG home to encrypt with. Give it with `storeDir`. Default: a throwaway one. */
  gpgHome?: string;
  /** Password store directory the driver writes `<id>.gpg` files to. Default: a throwaway one. */
  storeDir?: string;
  /** Key id or fingerprint to encrypt to. Default: the first line of `storeDir/.gpg-id`. */
  key?: string;
}

/** Which Podman secret driver a backend uses; internal. */
export interface DriverSpec {
  id: "podman-file" | "podman-pass";
  driver: "file" | "pass";
  encryptedAtRest: boolean;
  store?: { gpgHome: string; storeDir: string; key?: string };
}

/** `"5.4.2"` -> 5004 (major * 1000 + minor); 0 when unparsable. */
export function podmanVersionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
}

/**
 * What depends on the Podman version rather than on the backend: `secret create --replace`
 * (libpod `replace=true`) exists since 4.7. (Podman 5 also accepts more secret names, but
 * keyhole's portable name rule in core is stricter than both.)
 */
export function podmanVersionFeatures(version: string | undefined): { replace: boolean } {
  const n = version === undefined ? 0 : podmanVersionNumber(version);
  return { replace: n >= 4007 };
}

/**
 * A {@link SecretBackend} on Podman's libpod API. Everything it creates carries keyhole's
 * ownership labels and is tracked, so `dispose()` (or Ctrl-C) removes it all.
 */
export class PodmanBackend implements SecretBackend {
  readonly id: string;
  readonly engine: EngineInfo;
  readonly runId: string;
  #capabilities: Readonly<Capabilities>;
  #version: Promise<string> | undefined;
  #knownVersion: string | undefined;
  readonly #driver: DriverSpec;
  readonly #options: PodmanBackendOptions;
  readonly #socketPath: string;
  readonly #workDir: string;
  readonly #tracker: ResourceTracker;
  readonly #secrets = new Map<string, SecretHandle>();
  readonly #workloads = new Set<PodmanWorkload>();
  #setup: Promise<{ client: LibpodClient; store?: PassStore }> | undefined;
  #disposed = false;
  #workloadCount = 0;
  readonly dispose: () => Promise<void>;

  constructor(driver: DriverSpec, options: PodmanBackendOptions = {}) {
    this.id = driver.id;
    this.#driver = driver;
    this.#options = options;
    this.runId = options.runId ?? newRunId();
    // It names a temp directory and containers: a plain name only.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(this.runId) || this.runId.includes("..")) {
      throw new InvalidInputError(
        driver.id,
        `The run id ${JSON.stringify(this.runId)} is not allowed. Use up to 40 letters, digits, "_", "." and "-", starting with a letter or digit, or omit it for a random one.`,
      );
    }
    this.#workDir = join(options.sharedDir?.path ?? tmpdir(), `keyhole-podman-${this.runId}`);
    // Without a socket of their own, every backend of this process on the same Podman shares
    // one API service (started on first use, stopped by the last dispose): a compare of
    // podman-file and podman-pass pays for one service start, not two.
    this.#socketPath =
      options.socketPath ??
      sharedSocketPath(options.podmanPath ?? "podman", podmanContainersConf());
    this.#tracker = new ResourceTracker(this.id);
    this.#capabilities = Object.freeze({
      envDelivery: true,
      fileDelivery: true,
      fileOwnership: true,
      fileMode: true,
      scrubAfterUse: true,
      targetOutsideSecretsDir: true,
      capDrop: true,
      engineSecretStore: true,
      encryptedAtRest: driver.encryptedAtRest,
      // Until ready() knows the version: Podman < 4.7 has no `secret create --replace`.
      replaceInPlace: false,
      maxValueBytes: PODMAN_MAX_SECRET_BYTES,
      binarySafe: true,
      // A FIFO on a tmpfs the container spec declares, fed by a privileged libpod exec.
      readOnce: true,
    });
    const conf = podmanContainersConf();
    this.engine = Object.freeze({
      kind: "podman" as const,
      name: "podman",
      endpoint: `unix://${this.#socketPath}`,
      // A given CLI (an engine set's) brings its own configuration; the host's is not for it.
      env: Object.freeze<Record<string, string>>(
        conf && !options.cli ? { CONTAINERS_CONF: conf } : {},
      ),
      ...(options.cli ? { cli: Object.freeze([...options.cli]) } : {}),
      // Podman's own storage (graph root, run root) the suite learns from `podman info` — or,
      // for a Podman in other namespaces, from `options.storage`; the pass driver's store and
      // GnuPG home are keyhole's (or the caller's), so declared here.
      ...(options.storage || driver.driver === "pass"
        ? {
            storage: Object.freeze([
              ...(options.storage ?? []),
              ...(driver.driver === "pass" ? passStorage(driver, this.#workDir) : []),
            ]),
          }
        : {}),
    });
    this.dispose = once(async () => {
      this.#disposed = true;
      await this.#tracker.disposeAll();
    });
  }

  /**
   * What this backend can deliver. Capabilities that depend on the Podman version
   * (`replaceInPlace`: Podman >= 4.7) are decided once `ready()` has asked the engine.
   */
  get capabilities(): Readonly<Capabilities> {
    return this.#capabilities;
  }

  async ready(): Promise<{ version: string }> {
    return { version: await this.#engineVersion() };
  }

  #engineVersion(): Promise<string> {
    this.#version ??= (async () => {
      const { client } = await this.#ensureSetup();
      const info = await client.json<{
        Version?: string;
        Components?: Array<{ Version?: string }>;
      }>("GET", "/version", "report its version");
      const version = info.Version ?? info.Components?.[0]?.Version ?? "unknown";
      this.#knownVersion = version;
      const features = podmanVersionFeatures(version);
      this.#capabilities = Object.freeze({
        ...this.#capabilities,
        replaceInPlace: features.replace,
      });
      return version;
    })().catch((error: unknown) => {
      this.#version = undefined;
      throw error;
    });
    return this.#version;
  }

  async createSecret(
    name: string,
    value: SecretValue,
    options: CreateSecretOptions = {},
  ): Promise<SecretHandle> {
    const id = this.id;
    validateSecretName(id, name);
    const bytes = validateValue(id, value, this.capabilities.maxValueBytes);
    const labels = ownershipLabels(id, this.runId, validateLabels(id, options.labels));
    this.#assertOpen();
    if ([...this.#secrets.values()].some((s) => s.name === name)) {
      throw new SecretExistsError(
        id,
        `This backend already created a secret named ${JSON.stringify(name)}. Remove it first, or use another name.`,
      );
    }
    registerSecretValue(bytes);
    const { client } = await this.#ensureSetup();
    const res = await this.#postSecret(name, labels, bytes, false);
    if (res.status >= 400) {
      if (engineCause(res) === "secret name in use") {
        throw new SecretExistsError(
          id,
          `Podman already has a secret named ${JSON.stringify(name)}. Remove it (\`podman secret rm ${name}\`) or use another name.`,
        );
      }
      throw client.engineError(`create the secret ${JSON.stringify(name)}`, res);
    }
    const secretId = (JSON.parse(res.body.toString("utf8")) as { ID: string }).ID;
    const handle: SecretHandle = Object.freeze({
      name,
      id: secretId,
      backendId: id,
      labels: Object.freeze(labels),
      size: bytes.length,
      envSafe: !bytes.includes(0),
    });
    this.#secrets.set(secretId, handle);
    this.#tracker.add(`secret:${secretId}`, async () => {
      await this.#deleteSecret(client, handle, false);
    });
    return handle;
  }

  async replaceSecret(secret: SecretHandle, value: SecretValue): Promise<SecretHandle> {
    // Decided by the declared capability (no engine call here): ready() sets it from the version.
    if (!this.capabilities.replaceInPlace) {
      const version = this.#knownVersion;
      throw new UnsupportedDeliveryError(
        this.id,
        version === undefined
          ? `Replacing the secret ${JSON.stringify(secret?.name)} in place needs Podman 4.7 (\`podman secret create --replace\`), and this backend has not asked the engine its version yet: call ready() first. Otherwise remove it and create it again; running containers keep their copy.`
          : `Podman ${version} cannot replace the secret ${JSON.stringify(secret?.name)} in place (\`podman secret create --replace\` needs Podman 4.7). Remove it and create it again; running containers keep their copy.`,
      );
    }
    const old = this.#ownHandle(secret);
    if (!this.#secrets.has(old.id)) {
      throw new SecretNotFoundError(
        this.id,
        `The secret ${JSON.stringify(old.name)} was removed (or replaced: use the handle replaceSecret returned).`,
      );
    }
    const bytes = validateValue(this.id, value, this.capabilities.maxValueBytes);
    this.#assertOpen();
    registerSecretValue(bytes);
    const { client } = await this.#ensureSetup();
    // libpod `replace=true` (Podman >= 4.7): same name, new id; containers that already hold
    // a file copy keep the old value, env secrets are read again at the next start/exec.
    const res = await this.#postSecret(old.name, { ...old.labels }, bytes, true);
    if (res.status >= 400)
      throw client.engineError(`replace the secret ${JSON.stringify(old.name)}`, res);
    const secretId = (JSON.parse(res.body.toString("utf8")) as { ID: string }).ID;
    const handle: SecretHandle = Object.freeze({
      ...old,
      id: secretId,
      size: bytes.length,
      envSafe: !bytes.includes(0),
    });
    this.#secrets.delete(old.id);
    this.#tracker.forget(`secret:${old.id}`);
    this.#secrets.set(secretId, handle);
    this.#tracker.add(`secret:${secretId}`, async () => {
      await this.#deleteSecret(client, handle, false);
    });
    return handle;
  }

  /** `path` (a host path) as the engine names it, through `sharedDir`. */
  #enginePath(path: string): string {
    const shared = this.#options.sharedDir;
    if (!shared || !(path === shared.path || path.startsWith(`${shared.path}/`))) return path;
    return shared.enginePath + path.slice(shared.path.length);
  }

  async #postSecret(
    name: string,
    labels: Record<string, string>,
    bytes: Uint8Array,
    replace: boolean,
  ): Promise<Awaited<ReturnType<LibpodClient["request"]>>> {
    const { client, store } = await this.#ensureSetup();
    return client.request("POST", "/secrets/create", {
      query: {
        name,
        driver: this.#driver.driver,
        // Must be JSON: Podman 4.3 silently drops driver options it cannot decode.
        driveropts: store
          ? {
              root: this.#enginePath(store.storeDir),
              key: store.key,
              gpghomedir: this.#enginePath(store.gpgHome),
            }
          : undefined,
        labels,
        ...(replace ? { replace: "true" } : {}),
      },
      body: { bytes },
    });
  }

  async removeSecret(secret: SecretHandle): Promise<void> {
    const handle = this.#ownHandle(secret);
    this.#assertOpen();
    const { client } = await this.#ensureSetup();
    await this.#deleteSecret(client, handle, true);
  }

  async listSecrets(): Promise<SecretHandle[]> {
    if (this.#secrets.size === 0 || this.#disposed) return [];
    const { client } = await this.#ensureSetup();
    const all = await client.json<Array<{ ID: string }>>("GET", "/secrets/json", "list secrets");
    const present = new Set(all.map((s) => s.ID));
    return [...this.#secrets.values()].filter((s) => present.has(s.id));
  }

  async run(spec: RunSpec): Promise<Workload> {
    const id = this.id;
    const normalized = validateRunSpec(id, this.capabilities, spec);
    const seen = new Set<string>();
    for (const f of normalized.files) {
      if (seen.has(f.secret.id)) {
        // Podman 4.3 keeps one copy per secret per container (userdata/secrets/<name>); a
        // second mount of it shares that inode, so the last uid/gid/mode would win for both.
        throw new UnsupportedDeliveryError(
          id,
          `The secret ${JSON.stringify(f.secret.name)} is delivered as a file twice in one run; Podman would give both files one owner and mode. Create a second secret for the second file.`,
        );
      }
      seen.add(f.secret.id);
    }
    for (const d of [...normalized.files, ...normalized.env]) {
      if (!this.#secrets.has(d.secret.id)) {
        throw new SecretNotFoundError(
          id,
          `The secret ${JSON.stringify(d.secret.name)} was removed (or not created by this backend instance). Create it again with createSecret().`,
        );
      }
    }
    this.#assertOpen();
    const { client } = await this.#ensureSetup();
    const s = normalized.spec;
    const files = normalized.files.map((f) => ({
      ...f,
      // Podman turns a missing Mode into 0000, so the default 0444 is sent explicitly; a
      // scrubbable file gets the owner's write bit. The file is a per-container copy, so
      // writing it never touches the engine's store.
      mode: (f.mode ?? (f.scrub ? 0o644 : 0o444)) | (f.scrub ? 0o200 : 0),
    }));
    const onceDirs = onceTmpfsDirs(normalized.once);
    // PID 1 waits for the FIFOs, so an init step that reads its secret at start finds it.
    const gated =
      onceDirs.length > 0
        ? onceGatedCommand(onceDirs, await this.#imageArgv(client, s))
        : undefined;
    const body = {
      name: `keyhole-${this.runId}-${++this.#workloadCount}`,
      image: s.image,
      ...(gated ? gated : s.command ? { command: s.command } : {}),
      ...(s.user ? { user: s.user } : {}),
      env: s.env ?? {},
      labels: ownershipLabels(id, this.runId, validateLabels(id, s.labels)),
      netns: { nsmode: "none" },
      stop_timeout: 0,
      cap_drop: capNames(s.capDrop),
      cap_add: capNames(s.capAdd),
      secrets: files.map((f) => ({
        Source: f.secret.id,
        Target: f.target,
        UID: f.uid ?? 0,
        GID: f.gid ?? 0,
        Mode: f.mode,
      })),
      secret_env: Object.fromEntries(normalized.env.map((e) => [e.name, e.secret.id])),
      // Read-once FIFOs live on tmpfs mounts of their own, never on the engine's secret mount.
      mounts: onceDirs.map((destination) => ({
        destination,
        type: "tmpfs",
        source: "tmpfs",
        options: ["rw", "nosuid", "nodev", "noexec", "mode=0755", "size=64k"],
      })),
    };
    const created = await client.request("POST", "/containers/create", { body: { json: body } });
    if (created.status >= 400) {
      const message = engineMessage(created);
      if (/image not known|no such image/i.test(message)) {
        throw new EngineError(
          id,
          `The image ${JSON.stringify(s.image)} is not in Podman's local storage, and keyhole never pulls. Build the probe image with \`await ensureProbeImage("podman")\` from @keyhole/probe (or run \`node scripts/setup.mjs\`), or load your image with \`podman load\`.`,
        );
      }
      throw client.engineError("create the workload container", created);
    }
    const containerId = (JSON.parse(created.body.toString("utf8")) as { Id: string }).Id;
    const key = `container:${containerId}`;
    this.#tracker.add(key, () => removeContainer(client, id, containerId));
    try {
      const started = await client.request("POST", `/containers/${containerId}/start`);
      if (started.status >= 400) throw client.engineError("start the workload container", started);
      await this.#waitRunning(client, containerId);
    } catch (error) {
      await removeContainer(client, id, containerId).then(
        () => this.#tracker.forget(key),
        () => {},
      );
      throw error;
    }
    const workload = new PodmanWorkload({
      backendId: id,
      client,
      containerId,
      user: s.user,
      files,
      onRemoved: () => {
        this.#tracker.forget(key);
        this.#workloads.delete(workload);
      },
    });
    this.#workloads.add(workload);
    try {
      workload.attachOnce(
        await startOnceDeliveries(
          id,
          (argv, options) => workload.exec(argv, options),
          normalized.once,
          { privileged: true },
        ),
      );
    } catch (error) {
      await workload.stop().catch(() => {});
      throw error;
    }
    return workload;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** The argv the workload would run: the image's entrypoint, then the run's command or the image's. */
  async #imageArgv(client: LibpodClient, spec: RunSpec): Promise<string[]> {
    const res = await client.request("GET", `/images/${encodeURIComponent(spec.image)}/json`);
    if (res.status === 404) {
      throw new EngineError(
        this.id,
        `The image ${JSON.stringify(spec.image)} is not in Podman's local storage, and keyhole never pulls. Build the probe image with \`await ensureProbeImage("podman")\` from @keyhole/probe, or load your image with \`podman load\`.`,
      );
    }
    if (res.status >= 400) throw client.engineError(`inspect the image ${spec.image}`, res);
    const config =
      (
        JSON.parse(res.body.toString("utf8")) as {
          Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null };
        }
      ).Config ?? {};
    const argv = [...(config.Entrypoint ?? []), ...(spec.command ?? config.Cmd ?? [])];
    if (argv.length === 0) {
      throw new InvalidInputError(
        this.id,
        `The image ${JSON.stringify(spec.image)} has no command and the run names none. Pass one, e.g. command: ["sleep", "300"].`,
      );
    }
    return argv;
  }

  async #waitRunning(client: LibpodClient, containerId: string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const info = await client.json<{
        State: { Running: boolean; Status: string; ExitCode: number; Error?: string };
      }>("GET", `/containers/${containerId}/json`, "inspect the workload container");
      if (info.State.Running) return;
      if (info.State.Status === "exited" || info.State.Status === "stopped") {
        throw new EngineError(
          this.id,
          `The workload exited right after start (exit code ${info.State.ExitCode}${info.State.Error ? `: ${info.State.Error}` : ""}). Give it a command that keeps running, e.g. ["sleep", "3600"].`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new EngineError(
      this.id,
      `The workload container ${containerId.slice(0, 12)} did not reach "running". Check \`podman logs ${containerId.slice(0, 12)}\`.`,
    );
  }

  async #deleteSecret(client: LibpodClient, handle: SecretHandle, strict: boolean): Promise<void> {
    const res = await client.request("DELETE", `/secrets/${handle.id}`);
    if (res.status === 404 && strict) {
      this.#secrets.delete(handle.id);
      this.#tracker.forget(`secret:${handle.id}`);
      throw new SecretNotFoundError(
        this.id,
        `Podman has no secret ${JSON.stringify(handle.name)} (id ${handle.id}); it was already removed.`,
      );
    }
    if (res.status >= 400 && res.status !== 404) {
      throw client.engineError(`remove the secret ${JSON.stringify(handle.name)}`, res);
    }
    this.#secrets.delete(handle.id);
    this.#tracker.forget(`secret:${handle.id}`);
  }

  #ownHandle(secret: unknown): SecretHandle {
    const h = secret as Partial<SecretHandle> | undefined;
    if (typeof h !== "object" || h === null || typeof h.id !== "string") {
      throw new InvalidInputError(this.id, "Pass a secret handle returned by createSecret().");
    }
    if (h.backendId !== this.id) {
      throw new InvalidInputError(
        this.id,
        `The secret ${JSON.stringify(h.name)} was created by backend ${JSON.stringify(h.backendId)}, not this one. Remove it with that backend.`,
      );
    }
    return h as SecretHandle;
  }

  #assertOpen(): void {
    if (this.#disposed) {
      throw new EngineError(this.id, "This backend was disposed. Create a new one.");
    }
  }

  #ensureSetup(): Promise<{ client: LibpodClient; store?: PassStore }> {
    this.#setup ??= this.#doSetup().catch((error: unknown) => {
      this.#setup = undefined;
      throw error;
    });
    return this.#setup;
  }

  async #doSetup(): Promise<{ client: LibpodClient; store?: PassStore }> {
    const given = this.#driver.store;
    // The private directory holds a throwaway pass store; the API service has its own.
    const needsDir = this.#driver.driver === "pass" && !given;
    const removeWorkDir = async () => {
      await stopGpgAgent(join(this.#workDir, "gnupg"));
      await rm(this.#workDir, { recursive: true, force: true });
    };
    if (needsDir) {
      // Not recursive: an existing directory of this name is not ours, so fail rather than use it.
      await mkdir(this.#workDir, { mode: 0o700 });
      this.#tracker.add("workdir", removeWorkDir);
    }
    try {
      return await this.#startApi(given);
    } catch (error) {
      // Leave nothing of a failed setup behind, so a later call can start over.
      if (needsDir) {
        await removeWorkDir();
        this.#tracker.forget("workdir");
      }
      throw error;
    }
  }

  async #startApi(
    given: DriverSpec["store"],
  ): Promise<{ client: LibpodClient; store?: PassStore }> {
    const client = new LibpodClient(this.#socketPath, this.id);
    // The throwaway store (a gpg key generation) and the API service start at once: neither
    // needs the other, and both are mostly waiting on child processes.
    const [storeResult, apiResult] = await Promise.allSettled([
      this.#passStore(given),
      this.#connect(client),
    ]);
    if (storeResult.status === "rejected") {
      if (apiResult.status === "fulfilled") await apiResult.value?.();
      throw storeResult.reason;
    }
    if (apiResult.status === "rejected") throw apiResult.reason;
    if (apiResult.value) this.#tracker.add("service", apiResult.value);
    const store = storeResult.value;
    return store ? { client, store } : { client };
  }

  /** The pass store to use: the one given, or a throwaway one in the private directory. */
  async #passStore(given: DriverSpec["store"]): Promise<PassStore | undefined> {
    if (this.#driver.driver !== "pass") return undefined;
    if (!given) return createThrowawayPassStore(this.id, this.#workDir, this.runId);
    const key = given.key ?? (await readStoreKey(given.storeDir));
    if (!key) {
      throw new InvalidInputError(
        this.id,
        `No key to encrypt with: pass \`key\`, or initialise the store with \`pass init <key>\` so ${given.storeDir}/.gpg-id exists.`,
      );
    }
    return { gpgHome: given.gpgHome, storeDir: given.storeDir, key };
  }

  /**
   * Takes a lease on the process's shared API service (returns its release), or checks that
   * the given socket answers (returns undefined: that service is not ours to stop).
   */
  async #connect(client: LibpodClient): Promise<(() => Promise<void>) | undefined> {
    if (this.#options.socketPath === undefined) {
      // The pass driver runs gpg inside the service with the store named in every secret's
      // driver options (root, key, gpghomedir), so one service serves file and pass backends.
      const lease = await acquireSharedService({
        backendId: this.id,
        podmanPath: this.#options.podmanPath ?? "podman",
        socketPath: this.#socketPath,
        env: podmanEnv(),
        startTimeoutMs: this.#options.startTimeoutMs ?? 30_000,
      });
      return lease.release;
    }
    const ping = await client.request("GET", "/_ping");
    if (ping.status !== 200) throw client.engineError("answer _ping", ping);
    return undefined;
  }
}

function capNames(caps: readonly string[] | undefined): string[] {
  return (caps ?? []).map((c) => {
    const upper = c.toUpperCase();
    return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  });
}

function validateLabels(backendId: string, labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (
    typeof labels !== "object" ||
    labels === null ||
    Array.isArray(labels) ||
    Object.entries(labels).some(([k, v]) => k === "" || typeof v !== "string")
  ) {
    throw new InvalidInputError(
      backendId,
      'labels must be an object of non-empty names to string values, e.g. { team: "ci" }.',
    );
  }
  return labels as Record<string, string>;
}

/** Where the pass driver keeps state: the store (`kind: "store"`) and its GnuPG home. */
function passStorage(driver: DriverSpec, workDir: string): readonly EngineStoragePath[] {
  // Paths of the throwaway store match createThrowawayPassStore(); they exist after ready().
  const storeDir = driver.store?.storeDir ?? join(workDir, "store");
  const gpgHome = driver.store?.gpgHome ?? join(workDir, "gnupg");
  return Object.freeze([
    { path: storeDir, kind: "store" as const },
    { path: gpgHome, kind: "engine" as const },
  ]);
}
