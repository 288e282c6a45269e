export { dockerClient } from "./docker-client.js";
export {
  DEFAULT_DOCKER_SOCKET,
  type DockerConnectionOptions,
  type DockerEndpoint,
  type DockerTlsFiles,
  type DockerTlsOptions,
  resolveDockerEndpoint,
  SETUP_FIX,
} from "./endpoint.js";
export {
  engineReason,
  engineStatus,
  isConnectionError,
  isTlsError,
  SWARM_INIT_FIX,
  toKeyholeError,
} from "./engine-errors.js";
export { type ExecTarget, execInContainer } from "./exec.js";
