// Test helper (not shipped): wraps a real backend and lies about it, to prove the suite
// catches a backend whose behaviour contradicts its declared capabilities.
import type { FileDelivery, RunSpec, SecretBackend } from "@keyhole/core";

/**
 * `real`, except that it declares `envDelivery: false` while still accepting env deliveries,
 * and silently drops the uid/gid/mode of file deliveries while still declaring
 * `fileOwnership` and `fileMode`.
 */
export function lyingBackend(real: SecretBackend): SecretBackend {
  const strip = (d: FileDelivery): FileDelivery => {
    const { uid: _uid, gid: _gid, mode: _mode, ...rest } = d;
    return rest;
  };
  return {
    id: real.id,
    capabilities: Object.freeze({ ...real.capabilities, envDelivery: false }),
    engine: real.engine,
    runId: real.runId,
    ready: () => real.ready(),
    createSecret: (name, value, options) => real.createSecret(name, value, options),
    replaceSecret: (secret, value) => real.replaceSecret(secret, value),
    removeSecret: (secret) => real.removeSecret(secret),
    listSecrets: () => real.listSecrets(),
    run: (spec: RunSpec) =>
      real.run({
        ...spec,
        ...(spec.secrets
          ? {
              secrets: spec.secrets.map((d) => (d.as === "file" && d.once !== true ? strip(d) : d)),
            }
          : {}),
      }),
    dispose: () => real.dispose(),
    [Symbol.asyncDispose]: () => real.dispose(),
  };
}
