import type { EngineInfo } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { engineCli, hostPathOf } from "./host-engine.js";

const setEngine: EngineInfo = {
  kind: "podman",
  name: "podman",
  cli: ["/bin/echo", "nsenter-prefix"],
  storage: [
    {
      path: "/s/rootfs/var/lib/containers/storage",
      enginePath: "/var/lib/containers/storage",
      kind: "container",
    },
    {
      path: "/s/rootfs/var/lib/containers/storage/secrets",
      enginePath: "/var/lib/containers/storage/secrets",
      kind: "store",
    },
  ],
};

describe("host view of an engine in other namespaces", () => {
  it("translates the engine's paths with the longest enginePath, and leaves others alone", () => {
    expect(hostPathOf(setEngine, "/var/lib/containers/storage/overlay/x/diff")).toBe(
      "/s/rootfs/var/lib/containers/storage/overlay/x/diff",
    );
    expect(hostPathOf(setEngine, "/var/lib/containers/storage/secrets/f")).toBe(
      "/s/rootfs/var/lib/containers/storage/secrets/f",
    );
    expect(hostPathOf(setEngine, "/var/lib/containers/storagex")).toBe(
      "/var/lib/containers/storagex",
    );
    expect(hostPathOf({ kind: "podman", name: "podman" }, "/a")).toBe("/a");
  });

  it("runs the declared CLI prefix before the arguments", async () => {
    const cli = engineCli(setEngine);
    expect(cli?.binary).toBe("/bin/echo");
    const r = await cli!.run(["inspect", "x"]);
    expect(r.stdout).toBe("nsenter-prefix inspect x\n");
  });
});
