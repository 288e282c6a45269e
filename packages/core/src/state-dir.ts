import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The directory keyhole keeps its own state in: the Podman `containers.conf` chosen by
 * provisioning, dockerd's log, the probe image's rootfs tarball. `$KEYHOLE_STATE_DIR`, else
 * `$XDG_STATE_HOME/keyhole`, else `~/.local/state/keyhole`. Never holds a secret value.
 */
export function keyholeStateDir(): string {
  if (process.env.KEYHOLE_STATE_DIR) return process.env.KEYHOLE_STATE_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "keyhole");
}

/**
 * The `containers.conf` Podman should use: `$CONTAINERS_CONF` when set, else the one
 * provisioning wrote into {@link keyholeStateDir} (runtime and ulimits that work on this host),
 * else undefined (Podman's own default).
 */
export function podmanContainersConf(): string | undefined {
  if (process.env.CONTAINERS_CONF) return process.env.CONTAINERS_CONF;
  const file = join(keyholeStateDir(), "containers.conf");
  return existsSync(file) ? file : undefined;
}

/**
 * Environment for a `podman` child process: the caller's environment plus `CONTAINERS_CONF`
 * from {@link podmanContainersConf}. Never carries a secret value.
 */
export function podmanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const conf = podmanContainersConf();
  return conf ? { ...base, CONTAINERS_CONF: conf } : { ...base };
}
