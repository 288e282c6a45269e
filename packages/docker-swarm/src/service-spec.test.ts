import type { NormalizedRunSpec, SecretHandle } from "@keyhole/core";
import type Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { buildServiceSpec, capName } from "./service-spec.js";

const handle = (name: string, id: string): SecretHandle => ({
  name,
  id,
  backendId: "docker-swarm",
  labels: {},
  size: 1,
  envSafe: true,
});

describe("buildServiceSpec", () => {
  const a = handle("a", "sid-a");
  const b = handle("b", "sid-b");
  const run: NormalizedRunSpec = {
    spec: {
      image: "localhost/keyhole-probe:x",
      command: ["sleep", "1"],
      user: "2000:2000",
      env: { PLAIN: "1" },
      capDrop: ["DAC_OVERRIDE", "cap_chown"],
      capAdd: ["CAP_SYS_PTRACE"],
    },
    env: [],
    files: [
      { secret: a, as: "file", target: "/run/secrets/a", uid: 2000, gid: 3000, mode: 0o400 },
      { secret: b, as: "file", target: "/etc/app/b" },
    ],
    once: [],
  };
  const spec = buildServiceSpec({
    name: "keyhole-r-1",
    imageId: "sha256:abc",
    run,
    labels: { keyhole: "true" },
  });
  const container = (spec.TaskTemplate as Dockerode.ContainerTaskSpec).ContainerSpec;

  it("one replica, never restarted, no ports, no networks", () => {
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(spec.TaskTemplate?.RestartPolicy).toEqual({ Condition: "none", MaxAttempts: 0 });
    expect(spec.EndpointSpec).toBeUndefined();
    expect(spec.Networks).toBeUndefined();
    expect(spec.Labels).toEqual({ keyhole: "true" });
  });

  it("container spec: image by id, argv, user, env, caps, zero grace period", () => {
    expect(container).toMatchObject({
      Image: "sha256:abc",
      Command: ["sleep", "1"],
      User: "2000:2000",
      Env: ["PLAIN=1"],
      CapabilityDrop: ["CAP_DAC_OVERRIDE", "CAP_CHOWN"],
      CapabilityAdd: ["CAP_SYS_PTRACE"],
      StopGracePeriod: 0,
      Labels: { keyhole: "true" },
    });
  });

  it("secret references: UID/GID as strings, Swarm's defaults 0/0/0444 when unset", () => {
    expect(container?.Secrets).toEqual([
      {
        SecretID: "sid-a",
        SecretName: "a",
        File: { Name: "/run/secrets/a", UID: "2000", GID: "3000", Mode: 0o400 },
      },
      {
        SecretID: "sid-b",
        SecretName: "b",
        File: { Name: "/etc/app/b", UID: "0", GID: "0", Mode: 0o444 },
      },
    ]);
  });

  it("capName adds CAP_ and upper-cases", () => {
    expect(capName("net_raw")).toBe("CAP_NET_RAW");
    expect(capName("CAP_NET_RAW")).toBe("CAP_NET_RAW");
  });
});
