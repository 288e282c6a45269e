export { type SwarmClusterMap, swarmClusterMapPath, swarmClusterOptions } from "./cluster-map.js";
export type { SwarmNodeEndpoint } from "./cluster-nodes.js";
export { type SwarmGcItem, type SwarmGcOptions, type SwarmGcResult, swarmGc } from "./gc.js";
export {
  DOCKER_SWARM_BACKEND_ID,
  DOCKER_SWARM_CAPABILITIES,
  type DockerSwarmOptions,
  dockerSwarmBackend,
} from "./swarm-backend.js";
