import { describe, expect, it } from "vitest";
import { parseCommand } from "./args.js";
import { exitCodeForError, exitCodeForReport } from "./exit-codes.js";
import { globMatcher, selectBackends, selectChecks } from "./select.js";
import { fakeReport } from "./test-report.js";
import { UsageError } from "./usage-error.js";

function usage(argv: string[]): string {
  try {
    parseCommand(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeForError(error)).toBe(2);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
}

describe("parseCommand", () => {
  it("parses compare with every option", () => {
    expect(
      parseCommand([
        "compare",
        "--backend",
        "podman-file,docker",
        "--check",
        "file.*",
        "--check",
        "env.child-inherits",
        "--format",
        "json",
        "--out",
        "r.json",
        "--no-color",
        "--quiet",
      ]),
    ).toEqual({
      command: "compare",
      backends: ["podman-file", "docker"],
      checks: ["file.*", "env.child-inherits"],
      format: "json",
      out: "r.json",
      noColor: true,
      quiet: true,
    });
  });

  it("defaults to every backend, every check, a table; --out's extension implies the format", () => {
    expect(parseCommand(["compare"])).toEqual({
      command: "compare",
      backends: undefined,
      checks: undefined,
      format: "table",
      noColor: false,
      quiet: false,
    });
    expect(parseCommand(["compare", "--out", "reports/x.html"])).toMatchObject({ format: "html" });
    expect(parseCommand(["compare", "--out", "x.md"])).toMatchObject({ format: "markdown" });
    expect(parseCommand(["compare", "--out", "x.html", "--format", "json"])).toMatchObject({
      format: "json",
    });
  });

  it("parses doctor, gc, --version and --help", () => {
    expect(parseCommand(["doctor"])).toEqual({ command: "doctor", noColor: false });
    expect(parseCommand(["gc", "--dry-run"])).toEqual({ command: "gc", dryRun: true });
    expect(parseCommand(["gc"])).toEqual({ command: "gc", dryRun: false });
    expect(parseCommand(["gc", "--run", "3fa2c1d9e0"])).toEqual({
      command: "gc",
      dryRun: false,
      runId: "3fa2c1d9e0",
    });
    expect(parseCommand(["--version"])).toEqual({ command: "version" });
    expect(parseCommand([])).toEqual({ command: "help" });
    expect(parseCommand(["--help"])).toEqual({ command: "help" });
    expect(parseCommand(["compare", "--help"])).toEqual({ command: "help" });
  });

  it("says what to type on bad usage", () => {
    expect(usage(["comapre"])).toBe(
      'Unknown command "comapre". Use `keyhole compare`, `keyhole doctor` or `keyhole gc`. Run `keyhole --help` for usage.',
    );
    expect(usage(["compare", "--format", "pdf"])).toBe(
      'Unknown format "pdf". Use --format table, --format markdown, --format json, --format html.',
    );
    expect(usage(["compare", "--bogus"])).toMatch(
      /^keyhole compare: Unknown option '--bogus'.*Run `keyhole compare --help` for usage\.$/,
    );
    expect(usage(["gc", "now"])).toMatch(/^keyhole gc: .*positional.*Run `keyhole gc --help`/);
    expect(usage(["compare", "--backend", ","])).toBe(
      "--backend needs a value, e.g. `--backend podman-file`. Run `keyhole --help` for usage.",
    );
    expect(usage(["compare", "--out", ""])).toMatch(/^--out needs a file name/);
    expect(usage(["gc", "--run", "a b"])).toMatch(/^--run needs a run id/);
    expect(usage(["--verbose"])).toMatch(/^Unknown option "--verbose": start with a command/);
  });
});

describe("selection", () => {
  const ids = [
    "env.child-inherits",
    "file.delete-refused",
    "file.env-unaffected",
    "limits.max-bytes",
  ];

  it("matches check globs over the whole id", () => {
    expect(globMatcher("file.*")("file.delete-refused")).toBe(true);
    expect(globMatcher("file.*")("xfile.delete")).toBe(false);
    expect(globMatcher("file?delete-refused")("file.delete-refused")).toBe(true);
    expect(globMatcher("file.*")("filex")).toBe(false);
    expect(selectChecks(ids, ["file.*", "limits.max-bytes"])).toEqual([
      "file.delete-refused",
      "file.env-unaffected",
      "limits.max-bytes",
    ]);
    expect(selectChecks(ids, undefined)).toEqual(ids);
  });

  it("rejects a glob that matches nothing, and an unknown backend, naming what exists", () => {
    expect(() => selectChecks(ids, ["fiel.*"])).toThrow(
      "--check \"fiel.*\" matches no check. Use a glob over these ids, e.g. --check 'file.*': env.child-inherits, file.delete-refused, file.env-unaffected, limits.max-bytes.",
    );
    expect(() => selectBackends(["podman-file", "docker"], ["podman"])).toThrow(
      'Unknown backend "podman". Use --backend with one or more of: podman-file, docker (e.g. --backend podman-file,docker).',
    );
    expect(selectBackends(["podman-file", "docker"], ["docker", "podman-file"])).toEqual([
      "podman-file",
      "docker",
    ]);
  });
});

describe("exit codes", () => {
  it("maps a report: 1 when a check errored, 3 when no backend ran, 0 otherwise", () => {
    const report = fakeReport();
    expect(exitCodeForReport(report)).toBe(1);
    for (const b of report.backends) b.results = b.results.filter((r) => r.outcome !== "error");
    expect(exitCodeForReport(report)).toBe(0);
    report.backends[0]!.results.push({
      check: "rest.plaintext-on-disk",
      outcome: "unmeasurable",
      reason: "no storage to scan",
      durationMs: 0,
    });
    expect(exitCodeForReport(report)).toBe(1);
    report.backends[0]!.results.pop();
    report.backends[0]!.results[0]!.contradiction =
      "declares envDelivery false but run accepted it";
    expect(exitCodeForReport(report)).toBe(1);
    delete report.backends[0]!.results[0]!.contradiction;
    expect(exitCodeForReport(report)).toBe(0);
    report.backends = report.backends.filter((b) => !b.available);
    expect(exitCodeForReport(report)).toBe(3);
  });
});
