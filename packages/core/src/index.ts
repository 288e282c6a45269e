export { type CleanupStep, registerCleanup, runAllCleanups } from "./cleanup.js";
export {
  type EngineSet,
  type EngineSetEngine,
  HOST_ENGINE_SET,
  provisionedEngineSets,
} from "./engine-sets.js";
export {
  EngineError,
  EngineUnavailableError,
  InvalidInputError,
  isKeyholeError,
  KEYHOLE_ERROR_CODES,
  KeyholeError,
  type KeyholeErrorCode,
  type KeyholeErrorOptions,
  SecretExistsError,
  SecretNotFoundError,
  SecretTooLargeError,
  UnsupportedDeliveryError,
} from "./errors.js";
export {
  KEYHOLE_BACKEND_LABEL,
  KEYHOLE_LABEL,
  KEYHOLE_RUN_LABEL,
  newRunId,
  ownershipLabels,
} from "./labels.js";
export {
  ONCE_GATE_NAME,
  ONCE_GATE_SCRIPT,
  ONCE_READY_MARKER,
  ONCE_SETUP_SCRIPT,
  ONCE_WRITER_SCRIPT,
  OnceDeliveries,
  type OnceExec,
  onceGatedCommand,
  type StartOnceOptions,
  startOnceDeliveries,
} from "./once.js";
export {
  type NormalizedOnceDelivery,
  ONCE_DIR,
  onceTmpfsDirs,
  validateOnceDelivery,
} from "./once-validate.js";
export { containsSecret, REDACTED, redact, registerSecretValue } from "./redact.js";
export { keyholeStateDir, podmanContainersConf, podmanEnv } from "./state-dir.js";
export { ResourceTracker } from "./tracker.js";
export type {
  Capabilities,
  CreateSecretOptions,
  EngineCluster,
  EngineInfo,
  EngineNode,
  EngineStoragePath,
  EnvDelivery,
  ExecOptions,
  ExecResult,
  FileDelivery,
  OnceFileDelivery,
  RunSpec,
  SecretBackend,
  SecretDelivery,
  SecretHandle,
  SecretValue,
  Workload,
} from "./types.js";
export {
  MAX_ID,
  MAX_SECRET_NAME_LENGTH,
  type NormalizedFileDelivery,
  type NormalizedRunSpec,
  SECRETS_DIR,
  validateEnvName,
  validateFileTarget,
  validateId,
  validateMode,
  validateRunSpec,
  validateSecretName,
} from "./validate.js";
export { typeName, validateValue, valueBytes } from "./value.js";
