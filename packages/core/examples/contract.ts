// The contract every keyhole backend implements, as a skeleton that compiles against
// @keyhole/core: each member of SecretBackend, what it must do and which error it throws when.
// A complete backend on a real engine: @keyhole/conformance's GUIDE.md.
import {
  type Capabilities,
  type CreateSecretOptions,
  type EngineInfo,
  EngineUnavailableError,
  newRunId,
  type RunSpec,
  type SecretBackend,
  type SecretHandle,
  type SecretValue,
  UnsupportedDeliveryError,
  type Workload,
} from "@keyhole/core";

export class MyBackend implements SecretBackend {
  /** Stable id: in labels, error messages and report columns. */
  readonly id = "my-backend";
  /** This instance's run id, in the `keyhole.run` label of everything it creates. */
  readonly runId = newRunId();
  /** What it can deliver, as data: the conformance suite decides what to expect from it. */
  readonly capabilities: Readonly<Capabilities> = {
    envDelivery: true,
    fileDelivery: true,
    fileOwnership: false,
    fileMode: false,
    scrubAfterUse: false,
    targetOutsideSecretsDir: false,
    capDrop: false,
    engineSecretStore: true,
    encryptedAtRest: false,
    replaceInPlace: false,
    maxValueBytes: 64 * 1024,
    binarySafe: true,
  };
  /** The engine: its kind and where it keeps state on the host (scanned by the suite). */
  readonly engine: EngineInfo = {
    kind: "other",
    name: "my-engine",
    storage: [{ path: "/var/lib/my-engine/secrets", kind: "store" }],
  };

  /** Checks the engine answers. ENGINE_UNAVAILABLE (with the fix) when it does not. */
  async ready(): Promise<{ version: string }> {
    throw new EngineUnavailableError(
      this.id,
      "my-engine is not running.",
      "systemctl start my-engine",
    );
  }

  /**
   * validateSecretName, validateValue (INVALID_INPUT, SECRET_TOO_LARGE), SECRET_EXISTS for a
   * name it already has, registerSecretValue, ownershipLabels; the value reaches the engine
   * only on stdin or in an API body.
   */
  async createSecret(
    name: string,
    value: SecretValue,
    options?: CreateSecretOptions,
  ): Promise<SecretHandle> {
    throw new Error(`not implemented: ${name} (${typeof value}, ${JSON.stringify(options)})`);
  }

  /** UNSUPPORTED_DELIVERY unless capabilities.replaceInPlace; SECRET_NOT_FOUND when gone. */
  async replaceSecret(secret: SecretHandle, _value: SecretValue): Promise<SecretHandle> {
    throw new UnsupportedDeliveryError(this.id, `Cannot replace ${secret.name} in place.`);
  }

  /** SECRET_NOT_FOUND when it is gone (or was never this instance's). */
  async removeSecret(_secret: SecretHandle): Promise<void> {}

  /** Secrets this instance created that still exist. */
  async listSecrets(): Promise<SecretHandle[]> {
    return [];
  }

  /** validateRunSpec first (INVALID_INPUT, UNSUPPORTED_DELIVERY), then one engine start. */
  async run(spec: RunSpec): Promise<Workload> {
    throw new Error(`not implemented: ${spec.image}`);
  }

  /** Removes everything this instance created (ResourceTracker.disposeAll). Safe twice. */
  async dispose(): Promise<void> {}

  /** `await using backend = myBackend()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
