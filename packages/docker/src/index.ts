export {
  DOCKER_CAPABILITIES,
  DOCKER_MAX_VALUE_BYTES,
  type DockerBackendOptions,
  dockerBackend,
  MAX_ENV_STRING_BYTES,
  WORKLOAD_LABEL,
} from "./docker-backend.js";
export {
  type DockerGcItem,
  type DockerGcOptions,
  type DockerGcResult,
  dockerGc,
} from "./docker-gc.js";
