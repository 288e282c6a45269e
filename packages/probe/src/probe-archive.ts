import { createHash } from "node:crypto";
import { DEFAULT_BUSYBOX, probeRootfsEntries } from "./rootfs.js";
import { writeTar } from "./tar.js";

/** The repository part of the probe image reference. */
export const PROBE_REPOSITORY = "localhost/keyhole-probe";

/** What {@link buildProbeArchive} produced: the image's names and the loadable archive. */
export interface ProbeArchive {
  /** `localhost/keyhole-probe:<first 12 hex of the layer's sha256>`. */
  reference: string;
  /** The content tag alone (12 hex). */
  tag: string;
  /**
   * The image id (`sha256:` + digest of the image config). Identical in Podman and Docker and
   * across builds, because the config is fixed too; Swarm services should reference this.
   */
  id: string;
  /** `sha256:` + digest of the uncompressed rootfs tar (the layer's diff id). */
  layerDigest: string;
  /** A `docker-archive` (the `docker save` format) that `podman load` and `docker load` read. */
  archive: Buffer;
}

/** Options for {@link buildProbeArchive}. */
export interface ProbeArchiveOptions {
  /** Path of a statically linked busybox. Default `/bin/busybox` (Debian's `busybox-static`). */
  busybox?: string;
}

const EPOCH = "1970-01-01T00:00:00Z";

/**
 * Builds the probe image as a `docker-archive` in memory: one reproducible rootfs layer and a
 * fixed config (created at the epoch, `CMD ["sh"]`), so the same busybox always yields the same
 * tag and the same image id.
 *
 * @example
 * ```ts
 * const { reference, id } = buildProbeArchive(); // localhost/keyhole-probe:3f9c…, sha256:…
 * ```
 */
export function buildProbeArchive(options: ProbeArchiveOptions = {}): ProbeArchive {
  const layer = writeTar(probeRootfsEntries(options.busybox ?? DEFAULT_BUSYBOX));
  const layerHex = sha256(layer);
  const tag = layerHex.slice(0, 12);
  const reference = `${PROBE_REPOSITORY}:${tag}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: ociArch(process.arch),
      os: "linux",
      created: EPOCH,
      config: {
        Env: ["PATH=/bin"],
        Cmd: ["sh"],
        WorkingDir: "/",
        Labels: { "org.opencontainers.image.title": "keyhole-probe" },
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${layerHex}`] },
      history: [{ created: EPOCH, created_by: "@keyhole/probe" }],
    }),
  );
  const configHex = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify([
      { Config: `${configHex}.json`, RepoTags: [reference], Layers: [`${layerHex}/layer.tar`] },
    ]),
  );
  const archive = writeTar([
    { type: "file", path: "manifest.json", mode: 0o644, data: manifest },
    { type: "file", path: `${configHex}.json`, mode: 0o644, data: config },
    { type: "dir", path: layerHex, mode: 0o755 },
    { type: "file", path: `${layerHex}/layer.tar`, mode: 0o644, data: layer },
  ]);
  return { reference, tag, id: `sha256:${configHex}`, layerDigest: `sha256:${layerHex}`, archive };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function ociArch(arch: string): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
  return map[arch] ?? arch;
}
