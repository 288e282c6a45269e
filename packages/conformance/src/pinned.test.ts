import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHECKS } from "./catalogue.js";
import { type PinnedVerdicts, pinnedDiff } from "./pinned.js";
import { type BackendReport, OUTCOMES } from "./report.js";
import { NO_CAPABILITIES } from "./test-fake-backend.js";

const pinned = JSON.parse(
  readFileSync(new URL("./pinned-verdicts.json", import.meta.url), "utf8"),
) as PinnedVerdicts;

function backend(results: Array<[string, string]>): BackendReport {
  return {
    id: "podman-file",
    available: true,
    engine: { name: "podman", version: "4.3.1" },
    capabilities: NO_CAPABILITIES,
    results: results.map(([check, outcome]) => ({
      check,
      outcome: outcome as BackendReport["results"][number]["outcome"],
      observed: "seen",
      durationMs: 0,
    })),
    workloadStarts: 0,
    workloads: [],
    durationMs: 0,
  };
}

describe("pinned verdicts", () => {
  it("pin every built-in backend on this machine's engines, every check, with known outcomes", () => {
    const rows = Object.keys(pinned).filter((k) => !k.startsWith("$"));
    for (const id of ["podman-file", "podman-pass", "docker-swarm", "docker"]) {
      expect(
        rows.some((k) => k.startsWith(`${id}@`)),
        id,
      ).toBe(true);
    }
    for (const key of rows) {
      for (const c of CHECKS) expect(pinned[key]![c.id], `${key} ${c.id}`).toBeDefined();
      for (const [check, o] of Object.entries(pinned[key]!)) {
        if (check.startsWith("$")) continue;
        for (const one of typeof o === "string" ? [o] : o) expect(OUTCOMES).toContain(one);
      }
    }
  });

  it("a changed cell, an unpinned check and a missing row each fail with what to do", () => {
    const table = { "podman-file@4.3.1": { "env.child-inherits": "exposed" } };
    expect(pinnedDiff(backend([["env.child-inherits", "exposed"]]), table)).toEqual([]);
    expect(pinnedDiff(backend([["env.child-inherits", "protected"]]), table)).toEqual([
      "podman-file@4.3.1 env.child-inherits: pinned exposed, now protected (seen). Explain the change, then update the pinned row.",
    ]);
    expect(pinnedDiff(backend([["env.other-uid-sees", "exposed"]]), table)[0]).toMatch(
      /^podman-file@4\.3\.1 env\.other-uid-sees: not pinned/,
    );
    const varies = { "podman-file@4.3.1": { "env.child-inherits": ["exposed", "protected"] } };
    expect(pinnedDiff(backend([["env.child-inherits", "exposed"]]), varies)[0]).toContain(
      'without a "$env.child-inherits" note',
    );
    const noted = {
      "podman-file@4.3.1": { ...varies["podman-file@4.3.1"], "$env.child-inherits": "why" },
    };
    expect(pinnedDiff(backend([["env.child-inherits", "protected"]]), noted)).toEqual([]);
    expect(pinnedDiff(backend([["env.child-inherits", "error"]]), noted)[0]).toContain(
      "pinned exposed or protected, now error",
    );
    const missing = pinnedDiff(backend([["env.child-inherits", "exposed"]]), {});
    expect(missing[0]).toContain(
      'add this row: {"podman-file@4.3.1":{"env.child-inherits":"exposed"}}',
    );
  });
});
