import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { InvalidInputError } from "@keyhole/core";
import Dockerode from "dockerode";
import type { DockerEndpoint } from "./endpoint.js";

/**
 * A dockerode client for a resolved endpoint. For TLS it reads the CA, certificate and key
 * files now, so a missing or unreadable file is an `INVALID_INPUT` naming the file and the fix
 * rather than a failure deep inside the first request. Never reads `DOCKER_*` itself: the
 * endpoint already says everything (docker-modem would otherwise apply `DOCKER_HOST` on its own).
 *
 * @example
 * ```ts
 * const endpoint = resolveDockerEndpoint("docker-swarm", { host: "tcp://10.0.0.2:2376", tls: true });
 * const docker = dockerClient("docker-swarm", endpoint);
 * await docker.version();
 * ```
 */
export function dockerClient(backendId: string, endpoint: DockerEndpoint): Dockerode {
  if (endpoint.kind === "unix") return new Dockerode({ socketPath: endpoint.socketPath });
  if (!endpoint.tls) {
    return new Dockerode({ protocol: "http", host: endpoint.hostname, port: endpoint.port });
  }
  const { tls } = endpoint;
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new InvalidInputError(
        backendId,
        `Cannot read the TLS ${what} ${path} for ${endpoint.endpoint} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem, or pass tls: { ca, cert, key }.`,
        { cause: error },
      );
    }
  };
  const ca = read("CA certificate", tls.ca);
  const cert = read("client certificate", tls.cert);
  const key = read("client key", tls.key);
  const options: Dockerode.DockerOptions & { agent?: Agent } = {
    protocol: "https",
    host: endpoint.hostname,
    port: endpoint.port,
    ca,
    cert,
    key,
  };
  // docker-modem 5 has no switch for an unverified connection (and @types/dockerode does not
  // list its `agent` option); an agent's default does it.
  if (!tls.verify) options.agent = new Agent({ rejectUnauthorized: false });
  return new Dockerode(options);
}
