export {
  type EnsureProbeImageOptions,
  ensureProbeImage,
  ensureProbeImageInfo,
  type ProbeEngine,
  type ProbeImage,
} from "./ensure-probe-image.js";
export {
  buildProbeArchive,
  PROBE_REPOSITORY,
  type ProbeArchive,
  type ProbeArchiveOptions,
} from "./probe-archive.js";
export { DEFAULT_BUSYBOX, PROBE_APPLETS, PROBE_USERS, probeRootfsEntries } from "./rootfs.js";
export { type TarEntry, writeTar } from "./tar.js";
