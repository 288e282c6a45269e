export {
  COMPOSE_ENV_CAPABILITIES,
  COMPOSE_FILE_CAPABILITIES,
  COMPOSE_MAX_VALUE_BYTES,
  type ComposeBackendOptions,
  composeEnvBackend,
  composeFileBackend,
} from "./compose-backend.js";
export { type ComposeGcItem, type ComposeGcOptions, composeGc } from "./compose-gc.js";
export {
  type ComposeProjectSecret,
  type ComposeProjectSpec,
  type ComposeSecretSource,
  composeProjectJson,
  envFileProblem,
  envFileText,
  escapeInterpolation,
  SERVICE,
} from "./compose-project.js";
export { ENGINE_SET_FIX, engineSetComposeOptions } from "./engine-set.js";
export { type FifoServer, serveFifo } from "./env-fifo.js";
export {
  DEFAULT_SCRATCH_DIR,
  PROJECT_LABEL,
  projectName,
  runIdOfProject,
} from "./project-name.js";
