import { describe, expect, it } from "vitest";
import { resolveDockerSocket } from "./socket.js";

describe("resolveDockerSocket", () => {
  it("prefers the option, then DOCKER_HOST, then /var/run/docker.sock", () => {
    expect(resolveDockerSocket("docker-swarm", "/x.sock", { DOCKER_HOST: "unix:///y" })).toEqual({
      socketPath: "/x.sock",
      endpoint: "unix:///x.sock",
    });
    expect(resolveDockerSocket("docker-swarm", undefined, { DOCKER_HOST: "unix:///y" })).toEqual({
      socketPath: "/y",
      endpoint: "unix:///y",
    });
    expect(resolveDockerSocket("docker-swarm", undefined, {})).toEqual({
      socketPath: "/var/run/docker.sock",
      endpoint: "unix:///var/run/docker.sock",
    });
  });

  it("refuses a non-unix DOCKER_HOST with the fix", () => {
    expect(() =>
      resolveDockerSocket("docker-swarm", undefined, { DOCKER_HOST: "tcp://10.0.0.1:2375" }),
    ).toThrow(
      expect.objectContaining({
        code: "ENGINE_UNAVAILABLE",
        fix: "export DOCKER_HOST=unix:///var/run/docker.sock",
        message:
          '[keyhole] [docker-swarm] DOCKER_HOST is "tcp://10.0.0.1:2375"; keyhole only talks to a local engine over a unix socket. Fix: export DOCKER_HOST=unix:///var/run/docker.sock',
      }),
    );
  });
});
