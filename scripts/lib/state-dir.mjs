// Where keyhole keeps machine state. Mirrors keyholeStateDir() / podmanContainersConf() in
// packages/core/src/state-dir.ts: setup runs before anything is built, so it cannot import core.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** `$KEYHOLE_STATE_DIR`, else `$XDG_STATE_HOME/keyhole`, else `~/.local/state/keyhole`. */
export function keyholeStateDir() {
  if (process.env.KEYHOLE_STATE_DIR) return process.env.KEYHOLE_STATE_DIR;
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: scripts run outside turbo tasks.
  const base = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "keyhole");
}

/** The project-owned containers.conf provisioning writes (it may not exist yet). */
export function ownContainersConf() {
  return join(keyholeStateDir(), "containers.conf");
}

/** Environment for podman: `$CONTAINERS_CONF` if set, else ours when it exists. */
export function podmanEnv(base = process.env) {
  const conf = base.CONTAINERS_CONF || (existsSync(ownContainersConf()) ? ownContainersConf() : "");
  return conf ? { ...base, CONTAINERS_CONF: conf } : { ...base };
}
