import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verdictOf } from "./judge.js";
import type { CheckResult, Report } from "./report.js";
import { runConformance } from "./run-conformance.js";
import { liars } from "./test-liars.js";

// The suite's own fail-closed test, against a real engine: each liar wraps a real
// podmanFileBackend and breaks one promise quietly while its capabilities still declare it.
// Through BOTH runners, every liar must come out `error`, `exposed` + contradiction, or a
// failing test — never all-green.
const pkg = resolve(import.meta.dirname, "..");
const out = mkdtempSync(join(tmpdir(), "kh-conformance-liars-"));
const all = liars();
afterAll(async () => {
  for (const liar of all) await liar.cleanup();
  rmSync(out, { recursive: true, force: true });
});

interface JsonResults {
  testResults: Array<{
    assertionResults: Array<{
      ancestorTitles: string[];
      title: string;
      status: string;
    }>;
  }>;
}

function childVitest(): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        resolve(pkg, "../../node_modules/vitest/vitest.mjs"),
        "run",
        "--config",
        "test/vitest.liars.config.ts",
        "--reporter=json",
        `--outputFile=${join(out, "results.json")}`,
      ],
      {
        cwd: pkg,
        env: { ...process.env, KH_LIARS_OUT: out },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("close", (code) => done({ code: code ?? 1, output }));
  });
}

describe("liars: backends that break one promise quietly", () => {
  it("runConformance catches every liar", async () => {
    // One liar after the other: each pass starts real containers on a shared engine.
    const problems: string[] = [];
    for (const liar of all) {
      const report = await runConformance(liar.make(), { checks: liar.checks });
      const results = new Map<string, CheckResult>(
        report.backends[0]!.results.map((r) => [r.check, r]),
      );
      const wrong = liar.judge(results);
      const failing = [...results.values()].filter((r) => !verdictOf(r).pass);
      if (failing.length === 0) wrong.push("all green: no result fails");
      problems.push(...wrong.map((w) => `${liar.name} (${liar.lie}): ${w}`));
    }
    expect(problems).toEqual([]);
  }, 900_000);

  it("describeConformance catches every liar", async () => {
    const { code, output } = await childVitest();
    expect(code, output.slice(-3000)).toBe(1);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as JsonResults;
    const tests = results.testResults.flatMap((f) => f.assertionResults);
    const problems: string[] = [];
    for (const liar of all) {
      const mine = tests.filter((t) => t.ancestorTitles.includes(`liar ${liar.name}`));
      const failed = mine.filter((t) => t.status === "failed").map((t) => t.title);
      if (failed.length === 0) problems.push(`${liar.name}: all green under describeConformance`);
      for (const id of liar.mustFail) {
        if (!failed.includes(id)) problems.push(`${liar.name}: ${id} did not fail`);
      }
      // The report describeConformance got is judged like runConformance's.
      const report = JSON.parse(readFileSync(join(out, `${liar.name}.json`), "utf8")) as Report;
      const byCheck = new Map(report.backends[0]!.results.map((r) => [r.check, r]));
      problems.push(...liar.judge(byCheck).map((w) => `${liar.name} (report): ${w}`));
    }
    expect(problems).toEqual([]);
  }, 900_000);
});
