// A complete third-party keyhole backend, written against @keyhole/core's published API only:
// Podman's `shell` secret driver (values kept by shell commands the backend chooses), driven
// through the `podman` CLI. GUIDE.md walks through it; podman-shell-backend.conformance.test.ts
// runs the whole conformance catalogue against it under both runners.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import {
  type Capabilities,
  type CreateSecretOptions,
  EngineError,
  type EngineInfo,
  EngineUnavailableError,
  type ExecOptions,
  type ExecResult,
  newRunId,
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
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";

const ID = "podman-shell";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `podman args…`; a value only ever travels on stdin, never in argv or env. `pipe`: feed
 * stdin through a real pipe (`cat |`), as `podman secret create … -` refuses Node's stdin,
 * which is a socket ("if `-` is used, data must be passed into stdin", Podman 4.3).
 */
function podman(args: string[], stdin?: string | Uint8Array, pipe = false): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = pipe
      ? ["sh", ["-c", 'cat | exec "$@"', "sh", "podman", ...args]]
      : ["podman", args];
    const child = spawn(file, argv, { env: podmanEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject); // ENOENT: no podman
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(stdin);
  });
}

/** `--label k=v` for every label. */
function labelArgs(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
}

/**
 * A backend on Podman's shell secret driver: each value is written by `cat` into a directory
 * of its own on tmpfs (`/dev/shm/keyhole-shell-<run id>`), which `engine.storage` declares so
 * the conformance suite scans it.
 */
export function podmanShellBackend(): SecretBackend {
  return new PodmanShellBackend();
}

class PodmanShellBackend implements SecretBackend {
  readonly id = ID;
  readonly runId = newRunId();
  readonly capabilities: Readonly<Capabilities> = Object.freeze({
    envDelivery: true,
    fileDelivery: true,
    fileOwnership: true,
    fileMode: true,
    scrubAfterUse: false, // the mount is read-only
    targetOutsideSecretsDir: false, // kept simple: files only under /run/secrets
    capDrop: true,
    engineSecretStore: true,
    encryptedAtRest: false, // `cat > file`: plaintext on tmpfs
    replaceInPlace: false, // Podman 4.3 has no `secret create --replace`
    maxValueBytes: 511_999, // Podman refuses 512000 bytes and more, whatever the driver
    binarySafe: true,
  });
  readonly #store = `/dev/shm/keyhole-shell-${this.runId}`;
  readonly engine: EngineInfo;
  readonly #tracker = new ResourceTracker(ID);
  readonly #secrets = new Map<string, SecretHandle>();

  constructor() {
    const conf = podmanContainersConf();
    this.engine = Object.freeze({
      kind: "podman" as const, // the engine is Podman: the suite may use its CLI as an oracle
      name: "podman (shell driver)",
      ...(conf ? { env: { CONTAINERS_CONF: conf } } : {}),
      storage: [{ path: this.#store, kind: "store" as const }],
    });
  }

  async ready(): Promise<{ version: string }> {
    let r: CliResult;
    try {
      r = await podman(["version", "--format", "{{.Client.Version}}"]);
    } catch (error) {
      throw new EngineUnavailableError(ID, "podman is not installed.", "apt-get install podman", {
        cause: error,
      });
    }
    if (r.code !== 0) {
      throw new EngineUnavailableError(
        ID,
        `podman does not answer: ${r.stderr.trim()}`,
        "podman info",
      );
    }
    await mkdir(this.#store, { recursive: true, mode: 0o700 });
    // Added first, so removed last: after every secret whose value lives there.
    this.#tracker.add("store", () => rm(this.#store, { recursive: true, force: true }));
    return { version: r.stdout.trim() };
  }

  async createSecret(
    name: string,
    value: SecretValue,
    options: CreateSecretOptions = {},
  ): Promise<SecretHandle> {
    validateSecretName(ID, name);
    const bytes = validateValue(ID, value, this.capabilities.maxValueBytes);
    if ([...this.#secrets.values()].some((s) => s.name === name)) {
      throw new SecretExistsError(
        ID,
        `A secret named ${JSON.stringify(name)} exists. Remove it first.`,
      );
    }
    registerSecretValue(bytes); // from now on no error or log line can carry it
    const labels = ownershipLabels(ID, this.runId, options.labels);
    // The driver's commands get the secret's id in $SECRET_ID and the value on stdin.
    const dir = this.#store;
    const opts = `store=cat > ${dir}/$SECRET_ID,lookup=cat ${dir}/$SECRET_ID,delete=rm -f ${dir}/$SECRET_ID,list=ls ${dir}`;
    const args = ["secret", "create", "--driver", "shell", "--driver-opts", opts];
    const r = await podman([...args, ...labelArgs(labels), name, "-"], bytes, true);
    if (r.code !== 0) {
      if (/in use/i.test(r.stderr)) {
        throw new SecretExistsError(
          ID,
          `Podman already has a secret named ${JSON.stringify(name)}. Use another name.`,
        );
      }
      throw new EngineError(ID, `podman secret create failed: ${r.stderr.trim()}`);
    }
    const handle: SecretHandle = Object.freeze({
      name,
      id: r.stdout.trim(),
      backendId: ID,
      labels,
      size: bytes.length,
      envSafe: !bytes.includes(0),
    });
    this.#secrets.set(handle.id, handle);
    this.#tracker.add(`secret:${handle.id}`, () => this.#removeFromPodman(handle));
    return handle;
  }

  async replaceSecret(_secret: SecretHandle, _value: SecretValue): Promise<SecretHandle> {
    throw new UnsupportedDeliveryError(
      ID,
      "Podman 4.3 cannot replace a secret in place. Remove it and create a new one.",
    );
  }

  async removeSecret(secret: SecretHandle): Promise<void> {
    if (!this.#secrets.has(secret.id)) {
      throw new SecretNotFoundError(
        ID,
        `No secret ${JSON.stringify(secret.name)} of this backend. It was removed already.`,
      );
    }
    await this.#removeFromPodman(secret);
    this.#tracker.forget(`secret:${secret.id}`);
  }

  async #removeFromPodman(secret: SecretHandle): Promise<void> {
    const r = await podman(["secret", "rm", secret.id]);
    this.#secrets.delete(secret.id);
    if (r.code !== 0 && !/no such secret/i.test(r.stderr)) {
      throw new EngineError(ID, `podman secret rm failed: ${r.stderr.trim()}`);
    }
  }

  async listSecrets(): Promise<SecretHandle[]> {
    const r = await podman(["secret", "ls", "--format", "{{.ID}}"]);
    if (r.code !== 0) throw new EngineError(ID, `podman secret ls failed: ${r.stderr.trim()}`);
    const ids = new Set(r.stdout.split("\n").map((l) => l.trim()));
    return [...this.#secrets.values()].filter((s) => ids.has(s.id));
  }

  async run(spec: RunSpec): Promise<Workload> {
    // Everything is checked before any engine call: kinds, names, targets, uid/gid/mode, caps.
    const n = validateRunSpec(ID, this.capabilities, spec);
    for (const d of [...n.env, ...n.files]) {
      if (!this.#secrets.has(d.secret.id)) {
        throw new SecretNotFoundError(
          ID,
          `The secret ${JSON.stringify(d.secret.name)} was removed. Create it again.`,
        );
      }
    }
    // No network: a probe needs none, and Podman's default bridge would add podman0 and
    // netavark's iptables rules to the host.
    const args = [
      "run",
      "-d",
      "--network",
      "none",
      ...labelArgs(ownershipLabels(ID, this.runId, spec.labels)),
    ];
    if (spec.user) args.push("--user", spec.user);
    // Plain env is not secret: it may travel in argv (the suite does not count it as a leak).
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push("--env", `${k}=${v}`);
    for (const c of spec.capDrop ?? []) args.push("--cap-drop", c);
    for (const c of spec.capAdd ?? []) args.push("--cap-add", c);
    for (const e of n.env) args.push("--secret", `${e.secret.name},type=env,target=${e.name}`);
    for (const f of n.files) {
      // validateRunSpec refused a "," in targets: it would split this option.
      const opts = [`${f.secret.name}`, "type=mount", `target=${f.target}`];
      if (f.uid !== undefined) opts.push(`uid=${f.uid}`);
      if (f.gid !== undefined) opts.push(`gid=${f.gid}`);
      if (f.mode !== undefined) opts.push(`mode=0${f.mode.toString(8)}`);
      args.push("--secret", opts.join(","));
    }
    args.push(spec.image, ...(spec.command ?? []));
    const r = await podman(args);
    const containerId = r.stdout.trim();
    if (containerId)
      this.#tracker.add(`container:${containerId}`, () => removeContainer(containerId));
    if (r.code !== 0) {
      if (containerId) await removeContainer(containerId).catch(() => {});
      throw new EngineError(ID, `podman run failed: ${r.stderr.trim()}`);
    }
    const stop = async () => {
      await removeContainer(containerId);
      this.#tracker.forget(`container:${containerId}`);
    };
    return {
      containerId,
      objectId: containerId,
      backendId: ID,
      fileTargets: n.files.map((f) => f.target),
      exec: (argv, options) => exec(containerId, argv, options),
      scrub: async () => {
        throw new UnsupportedDeliveryError(
          ID,
          "Secret files are read-only mounts; they cannot be scrubbed.",
        );
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }

  async dispose(): Promise<void> {
    await this.#tracker.disposeAll(); // newest first: containers, then secrets, then the store
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

async function removeContainer(id: string): Promise<void> {
  const r = await podman(["rm", "-f", "-t", "0", id]);
  if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
    throw new EngineError(ID, `podman rm failed: ${r.stderr.trim()}`);
  }
}

async function exec(id: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const args = ["exec", "-i"];
  if (options.user) args.push("--user", options.user);
  for (const [k, v] of Object.entries(options.env ?? {})) args.push("--env", `${k}=${v}`);
  const r = await podman([...args, id, ...argv], options.stdin ?? "");
  return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
}
