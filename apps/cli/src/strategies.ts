import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import {
  type ComposeBackendOptions,
  composeEnvBackend,
  composeFileBackend,
  ENGINE_SET_FIX,
  engineSetComposeOptions,
} from "@keyhole/compose";
import { type EngineSet, isKeyholeError, keyholeStateDir, type SecretBackend } from "@keyhole/core";
import { dockerBackend } from "@keyhole/docker";
import {
  DOCKER_SWARM_CAPABILITIES,
  dockerSwarmBackend,
  swarmClusterMapPath,
  swarmClusterOptions,
} from "@keyhole/docker-swarm";
import { podmanFileBackend, podmanPassBackend } from "@keyhole/podman";

/** Where the lookups of a strategy happen; the real process by default, a fake in tests. */
export interface HostView {
  env: NodeJS.ProcessEnv;
  /** True when `command` is an executable on `PATH`. */
  onPath(command: string): boolean;
  exists(path: string): boolean;
}

/** The host keyhole runs on. */
export const REAL_HOST: HostView = {
  env: process.env,
  onPath(command) {
    return (process.env.PATH ?? "").split(delimiter).some((dir) => {
      if (!dir) return false;
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  },
  exists: existsSync,
};

/** "Not here", and why, with the command that changes that. */
export interface NotHere {
  reason: string;
  fix: string;
}

/**
 * One way keyhole can run on this machine: a backend, how to tell cheaply that its engine is
 * not installed at all, and how to create it. `keyhole compare` and `keyhole doctor` walk the
 * ordered list {@link STRATEGIES}; the backend's own `ready()` has the last word (its
 * `ENGINE_UNAVAILABLE` error carries the fix).
 */
export interface BackendStrategy {
  /** The backend id, e.g. `"podman-file"`. */
  id: string;
  /** What it is, for humans. */
  description: string;
  /** Undefined when the engine looks installed; else why not and how to install it. */
  notHere(host: HostView): NotHere | undefined;
  /** Creates the backend (no engine call happens until it is used). */
  create(): SecretBackend;
  /** Runs on a multi-node cluster (`--no-cluster` leaves it out). Default false. */
  cluster?: boolean;
  /**
   * Creates the backend on an engine set's engines (the other Debian release's, see
   * `provisionedEngineSets()`); absent when the backend does not run on sets.
   */
  forSet?(set: EngineSet): SecretBackend;
}

const SETUP = "node scripts/setup.mjs";

function needCommands(
  commands: readonly string[],
  packages: string,
): (host: HostView) => NotHere | undefined {
  return (host) => {
    const missing = commands.filter((c) => !host.onPath(c));
    if (missing.length === 0) return undefined;
    return {
      reason: `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not installed.`,
      fix: `apt-get install -y ${packages} (in the keyhole repository: ${SETUP})`,
    };
  };
}

function needDockerEngine(host: HostView): NotHere | undefined {
  // A remote or non-default daemon (DOCKER_HOST) needs nothing installed here.
  if (host.env.DOCKER_HOST) return undefined;
  if (host.exists("/var/run/docker.sock") || host.onPath("dockerd")) return undefined;
  return {
    reason: "Docker Engine is not installed (no dockerd, no /var/run/docker.sock, no DOCKER_HOST).",
    fix: `apt-get install -y docker.io (in the keyhole repository: ${SETUP})`,
  };
}

/** The Compose v2 plugin of a Debian 13 host's docker CLI (Debian 12's Compose is v1). */
const HOST_COMPOSE_V2 = "/usr/libexec/docker/cli-plugins/docker-compose";

/** Where Compose v2 is: the Debian 13 engine set when provisioned, else the host's plugin. */
function composeHere(host: HostView): "set" | "host" | undefined {
  if (host.exists(join(keyholeStateDir(), "sets", "trixie", "set.json"))) return "set";
  if (host.exists(HOST_COMPOSE_V2)) return "host";
  return undefined;
}

function needComposeV2(host: HostView): NotHere | undefined {
  if (composeHere(host)) return undefined;
  return {
    reason:
      "Compose v2 is neither on this host nor in a provisioned Debian 13 engine set (Debian 12 ships only Compose v1, dead upstream).",
    fix: ENGINE_SET_FIX,
  };
}

/**
 * Options for the compose backends here. Never throws (`compare` creates every backend before
 * asking any): without a usable set, they point at the socket the set would have, so `ready()`
 * fails with `ENGINE_UNAVAILABLE` and the fix, and the column is reported as not run.
 */
function composeOptions(host: HostView = REAL_HOST): ComposeBackendOptions {
  if (composeHere(host) === "host") return {};
  try {
    return engineSetComposeOptions();
  } catch {
    const root = join(keyholeStateDir(), "sets", "trixie", "rootfs");
    return { root, socketPath: join(root, "run", "kh", "docker.sock"), fix: ENGINE_SET_FIX };
  }
}

function podmanOnSet(set: EngineSet) {
  const e = set.podman;
  if (!e) throw new Error(`the ${set.name} engine set has no Podman`);
  return {
    socketPath: e.socketPath,
    cli: e.cli,
    storage: e.storage,
    ...(e.sharedDir ? { sharedDir: e.sharedDir } : {}),
  };
}

function dockerOnSet(set: EngineSet) {
  const e = set.docker;
  if (!e) throw new Error(`the ${set.name} engine set has no dockerd`);
  return { socketPath: e.socketPath, cli: e.cli, storage: e.storage };
}

/**
 * The backends keyhole knows, in the order they are tried and shown: Podman (file driver,
 * pass driver), Docker Swarm, plain Docker, Compose v2 (`file:` and `environment:` sources).
 */
export const STRATEGIES: readonly BackendStrategy[] = [
  {
    id: "podman-file",
    description: "Podman secrets, file driver",
    notHere: needCommands(["podman"], "podman runc"),
    create: () => podmanFileBackend(),
    forSet: (set) => podmanFileBackend(podmanOnSet(set)),
  },
  {
    id: "podman-pass",
    description: "Podman secrets, pass driver (GnuPG-encrypted at rest)",
    notHere: needCommands(["podman", "pass", "gpg"], "podman runc pass gnupg"),
    create: () => podmanPassBackend(),
    forSet: (set) => podmanPassBackend(podmanOnSet(set)),
  },
  {
    id: "docker-swarm",
    description: "Docker Swarm secrets",
    notHere: needDockerEngine,
    create: () => dockerSwarmBackend(),
    forSet: (set) => dockerSwarmBackend(dockerOnSet(set)),
  },
  {
    id: "docker-swarm-cluster",
    description: "Docker Swarm secrets on a multi-node swarm (node scripts/cluster.mjs up)",
    cluster: true,
    notHere: (host) =>
      host.exists(swarmClusterMapPath())
        ? undefined
        : {
            reason: `No multi-node swarm is up (no node map at ${swarmClusterMapPath()}).`,
            fix: "node scripts/cluster.mjs up (as root, in the keyhole repository)",
          },
    create: () => {
      try {
        return dockerSwarmBackend(swarmClusterOptions());
      } catch (error) {
        // No node map: a backend whose ready() says so, so the column is loud, not missing.
        return unavailableBackend("docker-swarm", error);
      }
    },
  },
  {
    id: "docker",
    description: "plain Docker Engine (env vars, copied-in files): the baseline",
    notHere: needDockerEngine,
    create: () => dockerBackend(),
    forSet: (set) => dockerBackend(dockerOnSet(set)),
  },
  {
    id: "compose-file",
    description: "Compose v2 secrets from file: sources (a read-only bind of a host copy)",
    notHere: needComposeV2,
    create: () => composeFileBackend(composeOptions()),
  },
  {
    id: "compose-env",
    description: "Compose v2 secrets from environment: sources (copied into the container)",
    notHere: needComposeV2,
    create: () => composeEnvBackend(composeOptions()),
  },
];

/** What `keyhole doctor` says about one backend. */
export type Diagnosis =
  | {
      id: string;
      status: "ready" /** Engine name and version, e.g. `"podman 4.3.1"`. */;
      version: string;
    }
  | { id: string; status: "missing" | "broken"; reason: string; fix: string };

/**
 * Diagnoses one strategy: `missing` when its engine is not installed, `broken` when it is but
 * `ready()` fails (the error's fix command is kept), `ready` with the engine's version.
 * Disposes the backend it created.
 */
export async function diagnose(
  strategy: BackendStrategy,
  host: HostView = REAL_HOST,
): Promise<Diagnosis> {
  const absent = strategy.notHere(host);
  if (absent) return { id: strategy.id, status: "missing", ...absent };
  let backend: SecretBackend | undefined;
  try {
    backend = strategy.create();
    const { version } = await backend.ready();
    return { id: strategy.id, status: "ready", version: `${backend.engine.name} ${version}` };
  } catch (error) {
    const fix = isKeyholeError(error, "ENGINE_UNAVAILABLE")
      ? ((error as { fix?: string }).fix ?? SETUP)
      : SETUP;
    const message = error instanceof Error ? error.message : String(error);
    return { id: strategy.id, status: "broken", reason: message.replace(/ Fix: .*$/s, ""), fix };
  } finally {
    await backend?.dispose().catch(() => {});
  }
}

/** A backend that cannot start: `ready()` rejects with `error`; nothing else is reachable. */
function unavailableBackend(id: string, error: unknown): SecretBackend {
  const fail = () => Promise.reject(error);
  return {
    id,
    capabilities: DOCKER_SWARM_CAPABILITIES,
    engine: { kind: "docker", name: "docker swarm (cluster)" },
    runId: "none",
    ready: fail,
    createSecret: fail,
    replaceSecret: fail,
    removeSecret: fail,
    listSecrets: fail,
    run: fail,
    dispose: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
