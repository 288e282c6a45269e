// Unit tests of the pure diff logic, reading and rendering (fake reports; no engine involved).
// The real-compare test is diff.e2e.test.ts.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCommand } from "./args.js";
import { EXIT, exitCodeForDiff, exitCodeForError } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { main } from "./main.js";
import { readReportFile } from "./read-report.js";
import { renderDiff } from "./render-diff.js";
import {
  classifyChange,
  type DiffableBackend,
  type DiffableReport,
  diffReports,
} from "./report-diff.js";
import { fakeReport } from "./test-report.js";
import { UsageError } from "./usage-error.js";

function column(
  id: string,
  version: string,
  outcomes: Record<string, string>,
  name = id.startsWith("podman") ? "podman" : "docker",
): DiffableBackend {
  return {
    id,
    available: true,
    engine: { name, version },
    results: Object.entries(outcomes).map(([check, outcome]) => ({ check, outcome })),
  };
}

function report(backends: DiffableBackend[], schemaVersion = 1): DiffableReport {
  return {
    schemaVersion,
    tool: { name: "@keyhole/conformance", version: "0.0.0" },
    startedAt: "2026-12-07T00:00:00.000Z",
    backends,
  };
}

describe("classifyChange", () => {
  it("calls every move into exposed worse, whatever it was before", () => {
    for (const before of ["protected", "unsupported", "error", "unmeasurable"]) {
      expect(classifyChange(before, "exposed")).toBe("worse");
    }
  });
  it("calls exposed → protected/unsupported better, and a lost verdict unknown", () => {
    expect(classifyChange("exposed", "protected")).toBe("better");
    expect(classifyChange("exposed", "unsupported")).toBe("better");
    expect(classifyChange("protected", "error")).toBe("unknown");
    expect(classifyChange("exposed", "unmeasurable")).toBe("unknown");
    expect(classifyChange("protected", "unsupported")).toBe("changed");
    expect(classifyChange("error", "protected")).toBe("changed");
    expect(classifyChange("error", "unmeasurable")).toBe("changed");
  });
});

describe("diffReports", () => {
  const before = report([
    column("podman-file", "4.3.1", { "env.a": "exposed", "file.b": "protected", "file.c": "x" }),
    column("docker", "20.10.24", { "env.a": "unsupported", "file.b": "protected" }),
  ]);

  it("finds nothing between a report and itself; exit 0", () => {
    const diff = diffReports(before, before);
    expect(diff.changes).toEqual([]);
    expect(diff.unchanged).toBe(5);
    expect(diff.onlyBefore).toEqual([]);
    expect(diff.onlyAfter).toEqual([]);
    expect(exitCodeForDiff(diff)).toBe(EXIT.ok);
  });

  it("reports protected → exposed as worse; exit 4", () => {
    const after = report([
      column("podman-file", "4.3.1", { "env.a": "exposed", "file.b": "protected", "file.c": "x" }),
      column("docker", "20.10.24", { "env.a": "unsupported", "file.b": "exposed" }),
    ]);
    const diff = diffReports(before, after);
    expect(diff.changes).toEqual([
      {
        check: "file.b",
        backend: "docker",
        engineBefore: "docker 20.10.24",
        engineAfter: "docker 20.10.24",
        before: "protected",
        after: "exposed",
        change: "worse",
      },
    ]);
    expect(exitCodeForDiff(diff)).toBe(4);
  });

  it("reports unsupported → exposed as worse too", () => {
    const after = report([
      column("docker", "20.10.24", { "env.a": "exposed", "file.b": "protected" }),
    ]);
    const diff = diffReports(before, after);
    expect(diff.changes.map((c) => [c.check, c.change])).toEqual([["env.a", "worse"]]);
    expect(diff.onlyBefore).toEqual([{ backend: "podman-file", engine: "podman 4.3.1" }]);
    expect(exitCodeForDiff(diff)).toBe(4);
  });

  it("exits 0 when verdicts only got better or moved sideways", () => {
    const after = report([
      column("podman-file", "4.3.1", { "env.a": "protected", "file.b": "unsupported" }),
    ]);
    const diff = diffReports(before, after);
    expect(diff.changes.map((c) => [c.check, c.change])).toEqual([
      ["file.b", "changed"],
      ["env.a", "better"],
    ]);
    expect(diff.checksOnlyBefore).toEqual(["podman-file file.c"]);
    expect(exitCodeForDiff(diff)).toBe(0);
  });

  it("exits 1 when a verdict became error or unmeasurable (cannot tell it did not get worse)", () => {
    const after = report(
      [column("podman-file", "4.3.1", { "env.a": "exposed", "file.b": "unmeasurable" })],
      2,
    );
    const diff = diffReports(before, after);
    expect(diff.changes.map((c) => [c.check, c.change])).toEqual([["file.b", "unknown"]]);
    expect(exitCodeForDiff(diff)).toBe(EXIT.failed);
  });

  it("pairs one backend across an engine upgrade and shows both versions", () => {
    const after = report([
      column("podman-file", "5.4.2", { "env.a": "protected", "file.b": "exposed", "file.c": "x" }),
    ]);
    const diff = diffReports(before, after);
    expect(diff.changes.map((c) => [c.check, c.engineBefore, c.engineAfter, c.change])).toEqual([
      ["file.b", "podman 4.3.1", "podman 5.4.2", "worse"],
      ["env.a", "podman 4.3.1", "podman 5.4.2", "better"],
    ]);
  });

  it("keys columns by backend id + engine version when a report holds two generations", () => {
    const twoGens = report([
      column("podman-file", "4.3.1", { "env.a": "exposed" }),
      column("podman-file", "5.4.2", { "env.a": "protected" }),
    ]);
    // The same report with the columns in the other order: nothing changed.
    const swapped = report([twoGens.backends[1]!, twoGens.backends[0]!]);
    expect(diffReports(twoGens, swapped).changes).toEqual([]);
    expect(diffReports(twoGens, swapped).unchanged).toBe(2);
    // The newer generation regressed; the older one did not move.
    const regressed = report([
      column("podman-file", "4.3.1", { "env.a": "exposed" }),
      column("podman-file", "5.4.2", { "env.a": "exposed" }),
    ]);
    const diff = diffReports(twoGens, regressed);
    expect(diff.changes.map((c) => [c.engineBefore, c.engineAfter, c.change])).toEqual([
      ["podman 5.4.2", "podman 5.4.2", "worse"],
    ]);
    // Two unmatched columns of one id on a side are not guessed at: listed, not compared.
    const otherVersions = report([
      column("podman-file", "4.4.0", { "env.a": "exposed" }),
      column("podman-file", "5.5.0", { "env.a": "exposed" }),
    ]);
    const unguessed = diffReports(twoGens, otherVersions);
    expect(unguessed.changes).toEqual([]);
    expect(unguessed.onlyBefore.map((c) => c.engine)).toEqual(["podman 4.3.1", "podman 5.4.2"]);
    expect(unguessed.onlyAfter.map((c) => c.engine)).toEqual(["podman 4.4.0", "podman 5.5.0"]);
  });

  it("turns the verdicts of a backend that ran before and is unavailable after into unknown", () => {
    const after = report([
      column("podman-file", "4.3.1", { "env.a": "exposed", "file.b": "protected", "file.c": "x" }),
      {
        id: "docker",
        available: false,
        unavailableReason: "dockerd is not running. Fix: start it",
        engine: { name: "docker", version: "" },
        results: [],
      },
    ]);
    const diff = diffReports(before, after);
    expect(diff.changes.map((c) => [c.backend, c.check, c.after, c.change])).toEqual([
      ["docker", "env.a", "unavailable", "unknown"],
      ["docker", "file.b", "unavailable", "unknown"],
    ]);
    expect(diff.changes[0]?.observedAfter).toBe("dockerd is not running. Fix: start it");
    expect(exitCodeForDiff(diff)).toBe(1);
  });
});

describe("renderDiff", () => {
  const before = { file: "before.json", report: fakeReport() as DiffableReport };
  const changed = fakeReport();
  const podman = changed.backends[0]!;
  podman.results = podman.results.map((r) =>
    r.check === "file.uid-gid-mode-honoured" ? { ...r, outcome: "exposed" as const } : r,
  );
  const after = { file: "after.json", report: changed as DiffableReport };
  const diff = diffReports(before.report, after.report);

  it("table: one row per changed verdict, the counts and the verdict sentence", () => {
    const text = renderDiff("table", diff, before, after);
    expect(text).toContain("first:  before.json (keyhole 9.9.9, 2026-01-02T03:04:05.000Z)");
    expect(text).toMatch(
      /^WORSE\s+podman-file · podman 4\.3\.1\s+file\.uid-gid-mode-honoured\s+protected\s+EXPOSED$/m,
    );
    expect(text).toContain("1 verdict changed (1 worse) · 9 unchanged");
    expect(text).toContain("1 verdict got worse (now EXPOSED).");
    expect(
      renderDiff("table", diffReports(before.report, before.report), before, before),
    ).toContain("no verdict changed · 10 unchanged\nNothing got worse.\n");
  });

  it("markdown: a table row per change", () => {
    const md = renderDiff("markdown", diff, before, after);
    expect(md).toContain(
      "| ❌ **WORSE** | podman-file · podman 4.3.1 | `file.uid-gid-mode-honoured` | protected | **EXPOSED** |",
    );
  });

  it("json: the diff with both sides named and worse set", () => {
    const json = JSON.parse(renderDiff("json", diff, before, after));
    expect(json.kind).toBe("keyhole-diff");
    expect(json.diffSchemaVersion).toBe(1);
    expect(json.worse).toBe(true);
    expect(json.before).toEqual({
      file: "before.json",
      tool: { name: "keyhole", version: "9.9.9" },
      startedAt: "2026-01-02T03:04:05.000Z",
      schemaVersion: fakeReport().schemaVersion,
    });
    expect(json.changes).toEqual(diff.changes);
  });
});

describe("keyhole diff input errors (exit 2, saying what to do)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-diff-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return name;
  };
  const problem = (file: string) => {
    try {
      readReportFile(file, dir);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect(exitCodeForError(error)).toBe(2);
      return (error as Error).message;
    }
    throw new Error(`expected ${file} to be refused`);
  };

  it("a missing file", () => {
    expect(problem("nope.json")).toBe(
      "nope.json: no such file. Give the path of a JSON report (write one with `keyhole compare --format json --out FILE`).",
    );
  });
  it("a file that is not JSON (e.g. the HTML report)", () => {
    expect(problem(write("r.html", "<!doctype html>"))).toMatch(
      /^r\.html is not JSON, so not a keyhole report: diff reads reports written with --format json/,
    );
  });
  it("JSON that is not a keyhole report", () => {
    expect(problem(write("pkg.json", '{"name":"x"}'))).toBe(
      "pkg.json is not a keyhole report (no schemaVersion). Give a JSON report (write one with `keyhole compare --format json --out FILE`).",
    );
    const noOutcome = {
      ...fakeReport(),
      backends: [{ ...fakeReport().backends[0], results: [{}] }],
    };
    expect(problem(write("bad.json", JSON.stringify(noOutcome)))).toContain(
      "(backends[0].results[0] has no check and outcome)",
    );
  });
  it("a schema version this keyhole does not read", () => {
    expect(problem(write("v9.json", JSON.stringify({ ...fakeReport(), schemaVersion: 9 })))).toBe(
      "v9.json has report schemaVersion 9; this keyhole reads 1 and 2. It was written by a newer keyhole: upgrade @keyhole/cli, or re-run `keyhole compare --format json` with this one to write both reports.",
    );
  });
  it("reads schema 1 and 2 reports and diffs them against each other", () => {
    const v1 = write("v1.json", JSON.stringify(fakeReport()));
    const v2 = write("v2.json", JSON.stringify({ ...fakeReport(), schemaVersion: 2 }));
    expect(diffReports(readReportFile(v1, dir), readReportFile(v2, dir)).changes).toEqual([]);
  });

  it("through main: exit 2 and the message on stderr; wrong argument count too", async () => {
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: (t: string) => err.push(t) },
      env: {},
      cwd: dir,
    };
    expect(await main(["diff", "nope.json", "v1.json"], io)).toBe(2);
    expect(err.join("")).toMatch(/^nope\.json: no such file\./);
    expect(await main(["diff", "v1.json"], io)).toBe(2);
    expect(err.join("")).toContain(
      "keyhole diff takes two JSON reports, e.g. `keyhole diff before.json after.json` (got 1).",
    );
  });
});

describe("parseCommand diff / --baseline", () => {
  it("parses diff with a format and compare with a baseline", () => {
    expect(parseCommand(["diff", "a.json", "b.json", "--format", "markdown"])).toEqual({
      command: "diff",
      before: "a.json",
      after: "b.json",
      format: "markdown",
      noColor: false,
    });
    expect(parseCommand(["compare", "--baseline", "main.json"])).toMatchObject({
      command: "compare",
      baseline: "main.json",
    });
  });
  it("refuses html for diff and an empty baseline", () => {
    expect(() => parseCommand(["diff", "a.json", "b.json", "--format", "html"])).toThrow(
      'Unknown diff format "html". Use --format table, --format markdown, --format json.',
    );
    expect(() => parseCommand(["compare", "--baseline", ""])).toThrow(
      /^--baseline needs a JSON report/,
    );
  });
});
