import { registerSecretValue, SecretNotFoundError } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { toKeyholeError } from "./engine-errors.js";

// docker-modem's errors carry the HTTP status and the engine's JSON body; node:net's a code.
const http = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), {
    statusCode,
    json: { message },
  });
const net = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe("toKeyholeError", () => {
  it("says what to do for each way an engine can be out of reach", () => {
    const cases = [
      [net("ENOENT"), "unix:///s", "node scripts/setup.mjs"],
      [net("ECONNREFUSED"), "tcp://h:2376", "docker -H tcp://h:2376 version"],
      [net("EACCES"), "unix:///s", "sudo usermod -aG docker $USER"],
      [
        http(503, "This node is not a swarm manager."),
        "unix:///s",
        "docker swarm init --advertise-addr 127.0.0.1",
      ],
      [
        http(400, "Client sent an HTTP request to an HTTPS server."),
        "tcp://h:2376",
        "export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<directory with ca.pem, cert.pem, key.pem>",
      ],
      [
        net("ECONNRESET"),
        "tcp://h:2376",
        "export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<directory with ca.pem, cert.pem, key.pem>",
      ],
      [
        net("DEPTH_ZERO_SELF_SIGNED_CERT"),
        "tcp://h:2376",
        "export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<directory with ca.pem, cert.pem, key.pem>",
      ],
    ] as const;
    for (const [error, endpoint, fix] of cases) {
      expect(toKeyholeError("b", endpoint, "list secrets", error)).toMatchObject({
        code: "ENGINE_UNAVAILABLE",
        fix,
      });
    }
  });

  it("keeps the engine's reason and status, redacted, and passes keyhole errors through", () => {
    const value = "s3cr3t-value-in-an-engine-message";
    const unregister = registerSecretValue(value);
    try {
      const e = toKeyholeError("b", "unix:///s", "create the secret", http(500, `bad ${value}`));
      expect(e.code).toBe("ENGINE_ERROR");
      expect(e.message).toBe(
        "[keyhole] [b] The Docker engine at unix:///s refused to create the secret (HTTP 500): bad [REDACTED]. Check `docker info` and dockerd's log.",
      );
    } finally {
      unregister();
    }
    const typed = new SecretNotFoundError("b", "gone");
    expect(toKeyholeError("b", "unix:///s", "x", typed)).toBe(typed);
  });
});
