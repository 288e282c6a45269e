import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Report } from "./report.js";
import { runConformance } from "./run-conformance.js";
import { type FakeOptions, fakeBackend } from "./test-fake-backend.js";
import { describeConformance } from "./vitest.js";

// Issue 14, part 3: the suite is fair to third-party backends (engine kind "other"). Engine-free
// tests of the runners with the in-memory fake backend: the hygiene checks need no engine, so
// they must run and catch leaks of a backend that is not Podman or Docker.
const image = "fake-probe-image";
const made: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kh-fair-"));
  made.push(dir);
  return dir;
}

function outcomes(report: Report | undefined): Record<string, string> {
  return Object.fromEntries(
    (report?.backends[0]?.results ?? []).map((r) => [r.check, r.outcome] as const),
  );
}

/** Runs `check` (after one that creates secrets) on a fake whose options are made in its factory. */
async function outcomeOf(check: string, fake: () => FakeOptions, extra: string[] = []) {
  const report = await runConformance(() => fakeBackend(fake()), {
    checks: ["hygiene.errors-redacted", ...extra, check],
    image,
  });
  const result = report.backends[0]!.results.find((r) => r.check === check)!;
  return result;
}

// Host-side checks that need no engine CLI, and one that does (lifecycle.cleanup).
const CHECKS = [
  "hygiene.errors-redacted",
  "hygiene.temp-files",
  "hygiene.host-argv-environ",
  "lifecycle.cleanup",
  "hygiene.report-redacted",
];
let viaDescribe: Report | undefined;

describeConformance(() => fakeBackend(), {
  name: "an honest backend of engine kind other under describeConformance",
  checks: CHECKS,
  image,
  expectUnmeasurable: { "lifecycle.cleanup": "the fake has no engine to ask" },
  onReport: (r) => {
    viaDescribe = r;
  },
});

describe("engine kind other", () => {
  it("describeConformance runs hygiene.temp-files and hygiene.host-argv-environ (no skip), with runConformance's outcomes", async () => {
    const direct = await runConformance(() => fakeBackend(), { checks: CHECKS, image });
    expect(outcomes(viaDescribe)).toEqual({
      "hygiene.errors-redacted": "protected",
      "hygiene.temp-files": "protected",
      "hygiene.host-argv-environ": "protected",
      "lifecycle.cleanup": "unmeasurable",
      "hygiene.report-redacted": "protected",
    });
    expect(outcomes(direct)).toEqual(outcomes(viaDescribe));
    const cleanup = direct.backends[0]!.results.find((r) => r.check === "lifecycle.cleanup")!;
    expect(cleanup.reason).toMatch(/engine's own CLI.*engine kind "other"/);
  });
});

describe("hygiene.temp-files baselines are taken before the backend exists", () => {
  it("catches values written into a temp dir the backend made in ready()", async () => {
    let dir = "";
    const r = await outcomeOf("hygiene.temp-files", () => ({
      onReady: () => {
        dir = tempDir();
      },
      onCreateSecret: (name, value) => writeFileSync(join(dir, name), value),
    }));
    expect(r.outcome).toBe("exposed");
    expect(r.contradiction).toMatch(/Invariant broken/);
  });

  it("catches values written into a temp dir the backend made while it was created (factory)", async () => {
    const r = await outcomeOf("hygiene.temp-files", () => {
      const dir = tempDir();
      return { onCreateSecret: (name, value) => writeFileSync(join(dir, name), value) };
    });
    expect(r.outcome).toBe("exposed");
  });
});

describe("hygiene.host-argv-environ", () => {
  it("does not count a plain (non-secret) env value on a command line as a leak", async () => {
    const r = await outcomeOf(
      "hygiene.host-argv-environ",
      () => ({
        declared: { fileDelivery: true, fileOwnership: true, fileMode: true },
        // Like a CLI-driven backend: `… run -e KH_PLAIN=<value> …`; alive until the end of the
        // pass, so the final sample of hygiene.host-argv-environ sees it.
        onRun: (spec) => {
          const env = Object.entries(spec.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
          children.push(
            spawn("sh", ["-c", "sleep 30; :", "kh-fake-run", ...env], { stdio: "ignore" }),
          );
        },
        // Time for a sample of /proc begun after that start (one takes up to a second here).
        onDispose: () => new Promise((done) => setTimeout(done, 2500)),
      }),
      ["file.env-unaffected"],
    );
    expect(r.outcome, JSON.stringify(r.evidence)).toBe("protected");
  });

  it("catches a value in the argv of a host process that lived 0.2 s", async () => {
    const r = await outcomeOf("hygiene.host-argv-environ", () => ({
      onCreateSecret: async (_name, value) => {
        const child = spawn(
          "sh",
          ["-c", "sleep 0.2", "kh-fake-cli", Buffer.from(value).toString()],
          {
            stdio: "ignore",
          },
        );
        await new Promise((done) => child.on("close", done));
      },
    }));
    expect(r.outcome).toBe("exposed");
    expect(r.observed).toMatch(/sh\[\d+\] cmdline/);
  });
});
