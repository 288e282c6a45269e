// Test helper (not shipped): an in-memory backend of engine kind "other" for engine-free tests
// of the runner's logic. It validates like a real adapter (core's validateRunSpec), so
// undeclared deliveries throw UNSUPPORTED_DELIVERY before anything "starts".
import {
  type Capabilities,
  EngineUnavailableError,
  newRunId,
  type RunSpec,
  registerSecretValue,
  type SecretBackend,
  SecretExistsError,
  type SecretHandle,
  SecretNotFoundError,
  UnsupportedDeliveryError,
  validateRunSpec,
  validateSecretName,
  validateValue,
  type Workload,
} from "@keyhole/core";

/** Every capability off (a backend that can deliver nothing). */
export const NO_CAPABILITIES: Capabilities = {
  envDelivery: false,
  fileDelivery: false,
  fileOwnership: false,
  fileMode: false,
  scrubAfterUse: false,
  targetOutsideSecretsDir: false,
  capDrop: false,
  engineSecretStore: false,
  encryptedAtRest: false,
  replaceInPlace: false,
  maxValueBytes: 1024,
  binarySafe: false,
};

export interface FakeOptions {
  id?: string;
  /** What the backend declares. */
  declared?: Partial<Capabilities>;
  /** What it really does (validation uses these). Default: the declared ones. */
  actual?: Partial<Capabilities>;
  /** Makes `ready()` throw ENGINE_UNAVAILABLE with this message. */
  unavailable?: string;
  /** What a workload's exec prints on stdout (default nothing, exit 1). */
  execStdout?: (argv: string[]) => string;
  /** Extra behaviour (e.g. a leak) run at the end of `ready()`. */
  onReady?: () => void | Promise<void>;
  /** Extra behaviour run once `createSecret` accepted a value. */
  onCreateSecret?: (name: string, value: Uint8Array) => void | Promise<void>;
  /** Extra behaviour run once `run` accepted a spec. */
  onRun?: (spec: RunSpec) => void | Promise<void>;
  /** Extra behaviour run at the start of `dispose()`. */
  onDispose?: () => void | Promise<void>;
}

/** An in-memory fake backend; `runs` counts workloads it "started", `sessions` exec and scrub calls. */
export function fakeBackend(
  options: FakeOptions = {},
): SecretBackend & { runs: number; sessions: number; disposed: boolean } {
  const id = options.id ?? "fake";
  const declared: Capabilities = { ...NO_CAPABILITIES, ...options.declared };
  const actual: Capabilities = { ...declared, ...options.actual };
  const secrets = new Map<string, SecretHandle>();
  const backend = {
    id,
    capabilities: Object.freeze(declared),
    engine: Object.freeze({ kind: "other" as const, name: "fake" }),
    runId: newRunId(),
    runs: 0,
    sessions: 0,
    disposed: false,
    async ready() {
      if (options.unavailable)
        throw new EngineUnavailableError(id, options.unavailable, "start the fake");
      await options.onReady?.();
      return { version: "0.0.0-fake" };
    },
    async createSecret(name: string, value: string | Uint8Array) {
      validateSecretName(id, name);
      const bytes = validateValue(id, value, actual.maxValueBytes);
      if (secrets.has(name)) throw new SecretExistsError(id, `A secret named ${name} exists.`);
      registerSecretValue(bytes);
      const handle: SecretHandle = {
        name,
        id: name,
        backendId: id,
        labels: {},
        size: bytes.length,
        envSafe: !bytes.includes(0),
      };
      secrets.set(name, handle);
      await options.onCreateSecret?.(name, bytes);
      return handle;
    },
    async replaceSecret(secret: SecretHandle): Promise<SecretHandle> {
      if (!actual.replaceInPlace) throw new UnsupportedDeliveryError(id, "No replace.");
      return secret;
    },
    async removeSecret(secret: SecretHandle) {
      if (!secrets.delete(secret.name))
        throw new SecretNotFoundError(id, `No secret ${secret.name}.`);
    },
    async listSecrets() {
      return [...secrets.values()];
    },
    async run(spec: unknown): Promise<Workload> {
      const normalized = validateRunSpec(id, actual, spec);
      await options.onRun?.(normalized.spec);
      backend.runs++;
      const containerId = `fake${backend.runs}`;
      return {
        containerId,
        objectId: containerId,
        backendId: id,
        fileTargets: normalized.files.map((f) => f.target),
        async exec(argv: string[]) {
          backend.sessions++;
          const stdout = options.execStdout?.(argv) ?? "";
          return { exitCode: stdout ? 0 : 1, stdout, stderr: stdout ? "" : "fake: no such thing" };
        },
        async scrub() {
          backend.sessions++;
        },
        async stop() {},
        async [Symbol.asyncDispose]() {},
      };
    },
    async dispose() {
      await options.onDispose?.();
      backend.disposed = true;
      secrets.clear();
    },
    async [Symbol.asyncDispose]() {
      await backend.dispose();
    },
  };
  return backend;
}
