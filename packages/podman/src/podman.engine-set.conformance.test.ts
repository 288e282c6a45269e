import type { Report } from "@keyhole/conformance";
import { describeConformance } from "@keyhole/conformance/vitest";
import { provisionedEngineSets } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { podmanFileBackend, podmanPassBackend } from "./index.js";

// The same catalogue against the other Debian release's Podman (an engine set provisioned by
// `node scripts/setup.mjs`; scripts/engine-set.test.mjs fails loudly when it is missing).
const sets = provisionedEngineSets();
const hostOnly = process.env.KEYHOLE_ENGINE_SETS === "host";

describe("engine sets for podman", () => {
  it.skipIf(hostOnly)("at least one is provisioned (node scripts/setup.mjs)", () => {
    expect(sets.map((s) => s.name)).not.toEqual([]);
  });
});

for (const set of sets) {
  const engine = set.podman!;
  const options = {
    socketPath: engine.socketPath,
    cli: engine.cli,
    storage: engine.storage,
    ...(engine.sharedDir ? { sharedDir: engine.sharedDir } : {}),
  };
  const reports: { file?: Report } = {};
  describeConformance(() => podmanFileBackend(options), {
    name: `podman-file on ${set.name} (podman ${engine.version}) conformance`,
    onReport: (r) => {
      reports.file = r;
    },
  });

  describe(`podman-file on ${set.name}: what depends on the Podman version`, () => {
    it("replaces in place from 4.7 (libpod replace=true) and masks env secrets in inspect from 5.3", () => {
      const b = reports.file?.backends[0];
      expect(b, "the podman-file pass on the set produced no report").toBeDefined();
      const outcome = Object.fromEntries(b!.results.map((r) => [r.check, r]));
      const [major, minor] = b!.engine.version.split(".").map(Number) as [number, number];
      const n = major * 1000 + minor;
      expect(b!.capabilities.replaceInPlace).toBe(n >= 4007);
      expect(outcome["lifecycle.replace"]?.outcome).toBe(n >= 4007 ? "protected" : "unsupported");
      expect(outcome["env.engine-inspect-shows"]?.outcome).toBe(
        n >= 5003 ? "protected" : "exposed",
      );
    });
  });

  describeConformance(() => podmanPassBackend(options), {
    name: `podman-pass on ${set.name} (podman ${engine.version}) conformance`,
  });
}
