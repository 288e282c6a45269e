import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Report } from "./report.js";

// A test of the suite itself, against a real engine: test/broken-backend.suite.ts runs
// describeConformance over a real podmanFileBackend wrapped to lie (it declares no env
// delivery but accepts it; it declares uid/gid/mode but drops them). A child vitest runs it
// with the JSON reporter; the lies must fail exactly the checks they touch, and nothing else.
const pkg = resolve(import.meta.dirname, "..");
const out = mkdtempSync(join(tmpdir(), "kh-conformance-broken-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface JsonResults {
  testResults: Array<{
    assertionResults: Array<{ title: string; status: string; failureMessages: string[] }>;
  }>;
}

function runChildVitest(): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        resolve(pkg, "../../node_modules/vitest/vitest.mjs"),
        "run",
        "--config",
        "test/vitest.broken.config.ts",
        "--reporter=json",
        `--outputFile=${join(out, "results.json")}`,
      ],
      {
        cwd: pkg,
        env: { ...process.env, KH_BROKEN_REPORT: join(out, "report.json") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("close", (code) => done({ code: code ?? 1, output }));
  });
}

describe("a backend that lies about its capabilities", () => {
  it("fails describeConformance on exactly the checks the lies touch", async () => {
    const { code, output } = await runChildVitest();
    expect(code, output.slice(-3000)).toBe(1);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as JsonResults;
    const status = new Map(
      results.testResults.flatMap((f) => f.assertionResults.map((a) => [a.title, a.status])),
    );
    const failed = [...status]
      .filter(([, s]) => s === "failed")
      .map(([t]) => t)
      .sort();
    expect(failed).toEqual([
      "env.argv-visible-in-ps",
      "env.child-inherits",
      "env.engine-inspect-shows",
      "env.exec-session-sees",
      "env.other-uid-sees",
      "env.proc-environ-after-unset",
      "env.same-uid-proc-environ",
      "file.uid-gid-mode-honoured",
    ]);
    expect(status.get("file.default-path-owner-mode")).toBe("passed");
    expect(status.get("file.env-unaffected")).toBe("passed");
    expect(["skipped", "pending"]).toContain(status.get("file.other-uid-reads-default"));

    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as Report;
    const byCheck = new Map(report.backends[0]!.results.map((r) => [r.check, r]));
    expect(byCheck.get("env.child-inherits")).toMatchObject({
      outcome: "exposed",
      contradiction:
        "The backend declares envDelivery: false but accepted the delivery instead of throwing UNSUPPORTED_DELIVERY.",
    });
    expect(byCheck.get("file.uid-gid-mode-honoured")).toMatchObject({
      outcome: "exposed",
      contradiction: expect.stringContaining("Asked for 2000:2000 0400, the file is 0:0 0444."),
    });
    expect(byCheck.has("file.other-uid-reads-default")).toBe(false);
  }, 600_000);
});
