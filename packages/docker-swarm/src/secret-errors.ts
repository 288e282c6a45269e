import {
  EngineError,
  type KeyholeError,
  SecretExistsError,
  SecretNotFoundError,
} from "@keyhole/core";
import { engineReason, engineStatus, toKeyholeError } from "@keyhole/docker-api";

/** `SECRET_EXISTS` for a 409 on secret create, else {@link toKeyholeError}. */
export function secretCreateError(
  backendId: string,
  endpoint: string,
  name: string,
  error: unknown,
): KeyholeError {
  if (engineStatus(error) === 409) {
    return new SecretExistsError(
      backendId,
      `The swarm already has a secret named ${JSON.stringify(name)}. Choose another name, or remove the old secret first.`,
      { cause: error },
    );
  }
  return toKeyholeError(backendId, endpoint, `create the secret ${JSON.stringify(name)}`, error);
}

/** `SECRET_NOT_FOUND` for a 404 on a secret request, else {@link toKeyholeError}. */
export function secretMissingError(
  backendId: string,
  endpoint: string,
  name: string,
  error: unknown,
): KeyholeError {
  if (engineStatus(error) === 404) {
    return new SecretNotFoundError(
      backendId,
      `The swarm has no secret named ${JSON.stringify(name)} (already removed?). Nothing to do; list what exists with listSecrets().`,
      { cause: error },
    );
  }
  const reason = engineReason(error);
  if (engineStatus(error) === 400 && /in use/i.test(reason)) {
    return new EngineError(
      backendId,
      `The secret ${JSON.stringify(name)} is still used by a workload (${reason}). Stop the workloads that use it first (workload.stop()), then remove it.`,
      { cause: error },
    );
  }
  return toKeyholeError(backendId, endpoint, `remove the secret ${JSON.stringify(name)}`, error);
}
