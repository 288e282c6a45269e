import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { resolveDockerEndpoint } from "./endpoint.js";

describe("resolveDockerEndpoint", () => {
  it("prefers socketPath, then host, then DOCKER_HOST, then /var/run/docker.sock", () => {
    const env = { DOCKER_HOST: "unix:///y.sock" };
    expect(resolveDockerEndpoint("b", { socketPath: "/x.sock", host: "tcp://h:1" }, env)).toEqual({
      kind: "unix",
      socketPath: "/x.sock",
      endpoint: "unix:///x.sock",
    });
    expect(resolveDockerEndpoint("b", { host: "unix:///h.sock" }, env)).toMatchObject({
      socketPath: "/h.sock",
    });
    expect(resolveDockerEndpoint("b", {}, env)).toMatchObject({ socketPath: "/y.sock" });
    expect(resolveDockerEndpoint("b", {}, {})).toEqual({
      kind: "unix",
      socketPath: "/var/run/docker.sock",
      endpoint: "unix:///var/run/docker.sock",
    });
  });

  it("reads tcp:// with the Docker CLI's TLS conventions", () => {
    expect(resolveDockerEndpoint("b", {}, { DOCKER_HOST: "tcp://10.0.0.2" })).toEqual({
      kind: "tcp",
      hostname: "10.0.0.2",
      port: 2375,
      endpoint: "tcp://10.0.0.2:2375",
    });
    expect(
      resolveDockerEndpoint(
        "b",
        {},
        { DOCKER_HOST: "tcp://10.0.0.2", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" },
      ),
    ).toEqual({
      kind: "tcp",
      hostname: "10.0.0.2",
      port: 2376,
      endpoint: "tcp://10.0.0.2:2376",
      tls: { ca: "/certs/ca.pem", cert: "/certs/cert.pem", key: "/certs/key.pem", verify: true },
    });
    // DOCKER_TLS without DOCKER_TLS_VERIFY: encrypted, the daemon's certificate unchecked;
    // no DOCKER_CERT_PATH: ~/.docker.
    expect(
      resolveDockerEndpoint("b", {}, { DOCKER_HOST: "tcp://[::1]:3000", DOCKER_TLS: "1" }),
    ).toEqual({
      kind: "tcp",
      hostname: "::1",
      port: 3000,
      endpoint: "tcp://[::1]:3000",
      tls: {
        ca: `${homedir()}/.docker/ca.pem`,
        cert: `${homedir()}/.docker/cert.pem`,
        key: `${homedir()}/.docker/key.pem`,
        verify: false,
      },
    });
  });

  it("takes TLS files from options, one by one over certPath, and tls: false over the env", () => {
    const tls = { certPath: "/d", key: "/k/key.pem" };
    expect(resolveDockerEndpoint("b", { host: "tcp://m1:2376", tls }, {})).toMatchObject({
      tls: { ca: "/d/ca.pem", cert: "/d/cert.pem", key: "/k/key.pem", verify: true },
    });
    const env = { DOCKER_HOST: "tcp://m1:2376", DOCKER_TLS_VERIFY: "1" };
    expect(resolveDockerEndpoint("b", { tls: false }, env)).not.toHaveProperty("tls");
  });

  it("refuses other schemes and bad paths with the fix", () => {
    expect(() => resolveDockerEndpoint("b", {}, { DOCKER_HOST: "ssh://me@host" })).toThrow(
      expect.objectContaining({
        code: "ENGINE_UNAVAILABLE",
        fix: "export DOCKER_HOST=unix:///var/run/docker.sock",
        message:
          '[keyhole] [b] DOCKER_HOST is "ssh://me@host"; keyhole talks to a Docker engine over unix:// or tcp:// (with TLS) only. Fix: export DOCKER_HOST=unix:///var/run/docker.sock',
      }),
    );
    expect(() => resolveDockerEndpoint("b", { host: "tcp://h:1/path" }, {})).toThrow(
      /host is "tcp:\/\/h:1\/path"; it is not a valid tcp:\/\/host:port URL/,
    );
    expect(() => resolveDockerEndpoint("b", { host: "unix://relative.sock" }, {})).toThrow(
      /needs an absolute socket path/,
    );
    expect(() => resolveDockerEndpoint("b", { socketPath: "docker.sock" }, {})).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});
