import { describe, expect, it } from "vitest";
import { type ProgressEvent, runComparison, runConformance } from "./run-conformance.js";
import { fakeBackend } from "./test-fake-backend.js";

// Engine-free tests of the runner with an in-memory backend (engine kind "other"). What the
// probes see in real containers is tested against real engines in *.integration.test.ts.
const image = "fake-probe-image";
const inContainer = [
  "env.child-inherits",
  "env.exec-session-sees",
  "env.other-uid-sees",
  "file.default-path-owner-mode",
  "file.uid-gid-mode-honoured",
  "file.capdrop-blocks-write",
];

describe("runConformance with fake backends", () => {
  it("writes the versioned report shape", async () => {
    const backend = fakeBackend();
    const report = await runConformance(backend, { checks: inContainer, image });
    expect(Object.keys(report).sort()).toEqual([
      "backends",
      "durationMs",
      "schemaVersion",
      "startedAt",
      "tool",
    ]);
    expect(report.schemaVersion).toBe(2);
    expect(report.tool).toEqual({
      name: "@keyhole/conformance",
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(new Date(report.startedAt).toISOString()).toBe(report.startedAt);
    const b = report.backends[0]!;
    expect(b).toMatchObject({
      id: "fake",
      available: true,
      engine: { name: "fake", version: "0.0.0-fake" },
      capabilities: backend.capabilities,
      workloadStarts: 0,
    });
    expect(b.results.map((r) => r.check)).toEqual(inContainer);
    for (const r of b.results) expect(typeof r.durationMs).toBe("number");
    expect(backend.disposed).toBe(true);
  });

  it("an honest backend that declares nothing: every delivery is refused and `unsupported`, no start", async () => {
    const backend = fakeBackend();
    const b = (await runConformance(backend, { checks: inContainer, image })).backends[0]!;
    for (const r of b.results) {
      expect(r.outcome, r.check).toBe("unsupported");
      expect(r.contradiction, r.check).toBeUndefined();
      expect(r.reason).toMatch(/^\[keyhole\] \[fake\] This backend cannot/);
    }
    expect(backend.runs).toBe(0);
    expect(b.workloads.every((w) => !w.started)).toBe(true);
  });

  it("a backend that claims no env delivery but accepts it is caught on every env check", async () => {
    const backend = fakeBackend({ actual: { envDelivery: true } });
    const b = (await runConformance(backend, { checks: "env.*", image })).backends[0]!;
    const env = b.results.filter((r) => r.check !== "env.engine-inspect-shows");
    expect(env.length).toBe(6);
    for (const r of env) {
      expect(r.contradiction, r.check).toContain(
        "declares envDelivery: false but accepted the delivery",
      );
    }
    expect(b.workloadStarts).toBe(1);
  });

  it("counts every exec session the workloads saw, and no host probe on a hostless engine", async () => {
    const backend = fakeBackend({ actual: { envDelivery: true, fileDelivery: true } });
    const b = (await runConformance(backend, { checks: ["env.*", "file.*"], image })).backends[0]!;
    expect(backend.sessions).toBeGreaterThan(1);
    expect(b.execSessions).toBe(backend.sessions);
    expect(b.hostProbes).toEqual({ engineCli: 0, storageScans: 0 });
  });

  it("a backend that claims a delivery it then refuses is caught too", async () => {
    const backend = fakeBackend({
      declared: { fileDelivery: true },
      actual: { fileDelivery: false },
    });
    const b = (await runConformance(backend, { checks: ["file.default-path-owner-mode"], image }))
      .backends[0]!;
    expect(b.results[0]).toMatchObject({
      outcome: "unsupported",
      contradiction: expect.stringContaining(
        "declares fileDelivery: true but refused the delivery",
      ),
    });
  });

  it("typed errors without values pass hygiene.errors-redacted", async () => {
    const b = (await runConformance(fakeBackend(), { checks: ["hygiene.errors-redacted"], image }))
      .backends[0]!;
    expect(b.results[0]).toMatchObject({
      outcome: "protected",
      observed:
        "4 errors (SECRET_EXISTS, SECRET_TOO_LARGE, SECRET_NOT_FOUND, UNSUPPORTED_DELIVERY) hold no value",
    });
    expect(b.results[0]!.contradiction).toBeUndefined();
  });

  it("records an unavailable engine with its message and fix, and still disposes", async () => {
    const down = fakeBackend({ id: "down", unavailable: "The fake engine is not running." });
    const up = fakeBackend({ id: "up" });
    const report = await runComparison([down, up], { checks: ["env.child-inherits"], image });
    expect(report.backends.map((b) => [b.id, b.available])).toEqual([
      ["down", false],
      ["up", true],
    ]);
    expect(report.backends[0]).toMatchObject({
      results: [],
      unavailableReason: "[keyhole] [down] The fake engine is not running. Fix: start the fake",
    });
    expect(down.disposed && up.disposed).toBe(true);
  });

  it("needs an image for an engine of kind other", async () => {
    const b = (await runConformance(fakeBackend(), { checks: ["env.child-inherits"] }))
      .backends[0]!;
    expect(b.results[0]).toMatchObject({
      outcome: "error",
      reason: expect.stringContaining("Pass options.image"),
    });
  });

  it("reports progress, and stops (disposing) when aborted", async () => {
    const events: ProgressEvent[] = [];
    await runConformance(fakeBackend(), {
      checks: ["env.child-inherits", "hygiene.report-redacted"],
      image,
      onProgress: (e) => events.push(e),
    });
    expect(events.map((e) => `${e.type} ${e.check} ${e.index}/${e.total}`)).toEqual([
      "check-start env.child-inherits 1/2",
      "check-done env.child-inherits 1/2",
      "check-start hygiene.report-redacted 2/2",
      "check-done hygiene.report-redacted 2/2",
    ]);
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const backend = fakeBackend();
    await expect(
      runConformance(backend, { checks: "env.*", image, signal: controller.signal }),
    ).rejects.toThrow("stop");
    expect(backend.disposed).toBe(true);
  });
});
