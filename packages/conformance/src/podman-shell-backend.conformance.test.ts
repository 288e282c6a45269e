import { describe, expect, it } from "vitest";
import { podmanShellBackend } from "../examples/podman-shell-backend.js";
import type { Report } from "./report.js";
import { runConformance } from "./run-conformance.js";
import { describeConformance } from "./vitest.js";

// The backend author's guide (GUIDE.md) ships a complete third-party backend, on a real engine:
// Podman's shell secret driver through the podman CLI. It must pass the whole catalogue under
// describeConformance, and runConformance must report the very same outcomes for it.
function outcomes(report: Report | undefined): Record<string, string> {
  return Object.fromEntries(
    (report?.backends[0]?.results ?? []).map((r) => [r.check, r.outcome] as const),
  );
}

// Both passes at once (started here, and in describeConformance's beforeAll): half the wall time.
const direct = runConformance(() => podmanShellBackend()).then(
  (report) => ({ report }),
  (error: unknown) => ({ error }),
);
let viaDescribe: Report | undefined;

describeConformance(() => podmanShellBackend(), {
  name: "podman-shell (the guide's example backend) conformance",
  onReport: (report) => {
    viaDescribe = report;
  },
});

describe("the guide's example backend under both runners", () => {
  it("runConformance reports the same outcome for every check as describeConformance", async () => {
    const got = await direct;
    if ("error" in got) throw got.error;
    expect(Object.keys(outcomes(viaDescribe))).toHaveLength(got.report.backends[0]!.results.length);
    expect(outcomes(got.report)).toEqual(outcomes(viaDescribe));
    console.log(`[keyhole] podman-shell outcomes: ${JSON.stringify(outcomes(got.report))}`);
  }, 600_000);
});
