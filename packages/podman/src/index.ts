export { podmanFileBackend, podmanPassBackend } from "./backends.js";
export { type DemuxedOutput, demuxDockerStream } from "./docker-stream.js";
export { type PodmanGcItem, type PodmanGcOptions, type PodmanGcReport, podmanGc } from "./gc.js";
export {
  PODMAN_MAX_SECRET_BYTES,
  type PodmanBackendOptions,
  type PodmanPassBackendOptions,
} from "./podman-backend.js";
