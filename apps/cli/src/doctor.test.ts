import { EngineUnavailableError, type SecretBackend } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { formatDiagnoses } from "./doctor-command.js";
import { type BackendStrategy, diagnose, type HostView, STRATEGIES } from "./strategies.js";

// Pure logic: a fake host and a stand-in backend whose only behaviour is the error it throws.
const emptyHost: HostView = { env: {}, onPath: () => false, exists: () => false };

describe("diagnose", () => {
  it("says missing, with the install command, when the engine is not installed", async () => {
    const podman = STRATEGIES.find((s) => s.id === "podman-pass")!;
    expect(await diagnose(podman, emptyHost)).toEqual({
      id: "podman-pass",
      status: "missing",
      reason: "podman, pass, gpg are not installed.",
      fix: "apt-get install -y podman runc pass gnupg (in the keyhole repository: node scripts/setup.mjs)",
    });
    const docker = STRATEGIES.find((s) => s.id === "docker")!;
    expect(await diagnose(docker, emptyHost)).toMatchObject({ status: "missing" });
    // A daemon elsewhere (DOCKER_HOST) needs nothing installed here.
    expect(
      docker.notHere({ ...emptyHost, env: { DOCKER_HOST: "unix:///x.sock" } }),
    ).toBeUndefined();
  });

  it("says broken, with the backend's own fix, when ready() fails", async () => {
    let disposed = false;
    const strategy: BackendStrategy = {
      id: "fake",
      description: "fake",
      notHere: () => undefined,
      create: () =>
        ({
          ready: async () => {
            throw new EngineUnavailableError("fake", "dockerd is not running.", "dockerd &");
          },
          dispose: async () => {
            disposed = true;
          },
        }) as unknown as SecretBackend,
    };
    expect(await diagnose(strategy, emptyHost)).toEqual({
      id: "fake",
      status: "broken",
      reason: "[keyhole] [fake] dockerd is not running.",
      fix: "dockerd &",
    });
    expect(disposed).toBe(true);
  });
});

describe("formatDiagnoses", () => {
  it("prints one line per backend and the fix under each problem", () => {
    expect(
      formatDiagnoses([
        { id: "podman-file", status: "ready", version: "podman 4.3.1" },
        {
          id: "docker",
          status: "broken",
          reason: "dockerd is not running.",
          fix: "node scripts/setup.mjs",
        },
      ]),
    ).toBe(
      [
        "podman-file  ready    podman 4.3.1",
        "docker       broken   dockerd is not running.",
        "             fix:     node scripts/setup.mjs",
        "",
        "1 of 2 backends ready; `keyhole compare` runs on it.",
        "",
      ].join("\n"),
    );
  });
});
