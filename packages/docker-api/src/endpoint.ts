import { homedir } from "node:os";
import { join } from "node:path";
import { EngineUnavailableError, InvalidInputError } from "@keyhole/core";

/** The socket dockerd listens on when nothing else is configured. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The command that starts the engines on a machine provisioned by keyhole's scripts. */
export const SETUP_FIX = "node scripts/setup.mjs";

/**
 * TLS material for a `tcp://` endpoint, as paths of PEM files (the Docker CLI's `--tlscacert`,
 * `--tlscert`, `--tlskey`). Give `certPath` for a directory holding `ca.pem`, `cert.pem` and
 * `key.pem` (the `DOCKER_CERT_PATH` layout), or the three files one by one; one by one wins.
 */
export interface DockerTlsOptions {
  /** A directory with `ca.pem`, `cert.pem` and `key.pem`. Default: `DOCKER_CERT_PATH`, else `~/.docker`. */
  certPath?: string;
  /** The CA that signed the daemon's certificate. Default: `<certPath>/ca.pem`. */
  ca?: string;
  /** The client certificate. Default: `<certPath>/cert.pem`. */
  cert?: string;
  /** The client certificate's key. Default: `<certPath>/key.pem`. */
  key?: string;
  /** Check the daemon's certificate against `ca` (the CLI's `--tlsverify`). Default true. */
  verify?: boolean;
}

/**
 * Where to reach a Docker Engine API, as a backend's options give it. Without any of these the
 * environment decides (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), then
 * {@link DEFAULT_DOCKER_SOCKET}.
 */
export interface DockerConnectionOptions {
  /** The absolute path of a unix socket, e.g. `/var/run/docker.sock`. */
  socketPath?: string;
  /** A `DOCKER_HOST`-style URL: `unix:///path` or `tcp://host:port`. */
  host?: string;
  /**
   * TLS for a `tcp://` host: `true` for the `DOCKER_CERT_PATH` defaults, or the files. Default:
   * TLS when `DOCKER_TLS_VERIFY` (verified) or `DOCKER_TLS` (unverified) is set, else plain HTTP.
   */
  tls?: boolean | DockerTlsOptions;
}

/** The paths of the TLS files of a resolved endpoint. */
export interface DockerTlsFiles {
  ca: string;
  cert: string;
  key: string;
  /** Whether the daemon's certificate is checked against `ca`. */
  verify: boolean;
}

/**
 * A resolved Docker Engine API endpoint: a unix socket, or a TCP host with optional TLS.
 * `endpoint` is the URL to show in messages and to hand to other Docker clients.
 */
export type DockerEndpoint =
  | {
      kind: "unix";
      /** The URL, e.g. `unix:///var/run/docker.sock`. */
      endpoint: string;
      /** The absolute path of the socket. */
      socketPath: string;
    }
  | {
      kind: "tcp";
      /** The URL, e.g. `tcp://10.0.0.2:2376`. */
      endpoint: string;
      hostname: string;
      port: number;
      /** Present when the connection uses TLS. */
      tls?: DockerTlsFiles;
    };

/**
 * Resolves where the Docker Engine API is, trying in order: `options.socketPath`,
 * `options.host`, `DOCKER_HOST`, then {@link DEFAULT_DOCKER_SOCKET}. `unix://` and `tcp://`
 * hosts are understood (a `tcp://` without a port gets 2376 with TLS, else 2375); TLS follows
 * the Docker CLI's conventions: `DOCKER_TLS_VERIFY` (any non-empty value) turns verified TLS on,
 * `DOCKER_TLS` unverified TLS, and `DOCKER_CERT_PATH` (default `~/.docker`) holds `ca.pem`,
 * `cert.pem` and `key.pem`. Files are only read when a client is made
 * ({@link dockerClient}). Other schemes (`ssh://`, `npipe://`) are refused with
 * `ENGINE_UNAVAILABLE` and the fix.
 *
 * @example
 * ```ts
 * resolveDockerEndpoint("docker", {}, { DOCKER_HOST: "unix:///run/docker.sock" });
 * // { kind: "unix", socketPath: "/run/docker.sock", endpoint: "unix:///run/docker.sock" }
 * resolveDockerEndpoint("docker-swarm", { host: "tcp://10.0.0.2", tls: { certPath: "/certs" } });
 * // { kind: "tcp", hostname: "10.0.0.2", port: 2376, endpoint: "tcp://10.0.0.2:2376",
 * //   tls: { ca: "/certs/ca.pem", cert: "/certs/cert.pem", key: "/certs/key.pem", verify: true } }
 * ```
 */
export function resolveDockerEndpoint(
  backendId: string,
  options: DockerConnectionOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): DockerEndpoint {
  const { socketPath } = options;
  if (socketPath !== undefined) {
    if (typeof socketPath !== "string" || !socketPath.startsWith("/")) {
      throw new InvalidInputError(
        backendId,
        `socketPath must be an absolute path of a unix socket, got ${JSON.stringify(socketPath)}. Use e.g. "/var/run/docker.sock".`,
      );
    }
    return unix(socketPath);
  }
  if (options.host !== undefined)
    return fromHost(backendId, options.host, options.tls, env, "host");
  if (env.DOCKER_HOST) return fromHost(backendId, env.DOCKER_HOST, options.tls, env, "DOCKER_HOST");
  return unix(DEFAULT_DOCKER_SOCKET);
}

function unix(socketPath: string): DockerEndpoint {
  return { kind: "unix", socketPath, endpoint: `unix://${socketPath}` };
}

function fromHost(
  backendId: string,
  host: string,
  tlsOption: DockerConnectionOptions["tls"],
  env: NodeJS.ProcessEnv,
  source: "host" | "DOCKER_HOST",
): DockerEndpoint {
  const refuse = (why: string): never => {
    throw new EngineUnavailableError(
      backendId,
      `${source} is ${JSON.stringify(host)}; ${why}`,
      `export DOCKER_HOST=unix://${DEFAULT_DOCKER_SOCKET}`,
    );
  };
  if (typeof host !== "string") return refuse("it must be a unix:// or tcp:// URL.");
  if (host.startsWith("unix://")) {
    const path = host.slice("unix://".length);
    if (!path.startsWith("/")) return refuse("a unix:// URL needs an absolute socket path.");
    return unix(path);
  }
  if (!host.startsWith("tcp://")) {
    return refuse("keyhole talks to a Docker engine over unix:// or tcp:// (with TLS) only.");
  }
  let url: URL;
  try {
    url = new URL(`http://${host.slice("tcp://".length)}`);
  } catch {
    return refuse("it is not a valid tcp://host:port URL.");
  }
  if (url.hostname === "" || (url.pathname !== "/" && url.pathname !== "")) {
    return refuse("it is not a valid tcp://host:port URL.");
  }
  const tls = tlsFiles(tlsOption, env);
  const port = url.port === "" ? (tls ? 2376 : 2375) : Number(url.port);
  // URL keeps IPv6 literals bracketed; net.connect wants them bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    kind: "tcp",
    hostname,
    port,
    endpoint: `tcp://${url.hostname}:${port}`,
    ...(tls ? { tls } : {}),
  };
}

function tlsFiles(
  option: DockerConnectionOptions["tls"],
  env: NodeJS.ProcessEnv,
): DockerTlsFiles | undefined {
  let tls: DockerTlsOptions;
  if (option === false) return undefined;
  if (option === true) tls = {};
  else if (option !== undefined) tls = option;
  else if (env.DOCKER_TLS_VERIFY) tls = { verify: true };
  else if (env.DOCKER_TLS) tls = { verify: false };
  else return undefined;
  const dir = tls.certPath ?? (env.DOCKER_CERT_PATH || join(homedir(), ".docker"));
  return {
    ca: tls.ca ?? join(dir, "ca.pem"),
    cert: tls.cert ?? join(dir, "cert.pem"),
    key: tls.key ?? join(dir, "key.pem"),
    verify: tls.verify ?? true,
  };
}
