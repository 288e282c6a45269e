import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommand } from "@keyhole/cli";
import { describe, expect, it } from "vitest";
import { readmeCommands, readmeFiles, safety, shellWords } from "./readme-commands.mjs";

const root = resolve(import.meta.dirname, "..");
const commands = readmeCommands(root, readmeFiles(root));
const safe = commands.filter((c) => safety(c.args).run);

/** The README line, verbatim, through `sh -c` in the repository root (as a reader types it). */
function runAsWritten(c) {
  const raw = readFileSync(join(root, c.file), "utf8").split("\n")[c.line - 1] ?? "";
  // `keyhole …` lines are for a global install: the bin on PATH is the workspace's link.
  const path = `${join(root, "node_modules", ".bin")}:${process.env.PATH}`;
  return spawnSync("sh", ["-c", raw.replace(/^\$ /, "")], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...(c.via === "installed" ? { PATH: path } : {}) },
    timeout: 110_000,
  });
}

const expectedExit = (args) => (args[0] === "doctor" ? [0, 3] : [0]);

describe("shellWords", () => {
  it("splits like sh: quotes, escapes, a trailing comment", () => {
    expect(shellWords(`npx keyhole compare --check 'env.*' --x "a b"  # note`)).toEqual([
      "npx",
      "keyhole",
      "compare",
      "--check",
      "env.*",
      "--x",
      "a b",
    ]);
  });
});

describe("every keyhole command a README shows", () => {
  it("is found: the root README and the CLI's README show the commands a newcomer runs first", () => {
    const text = (file) => commands.filter((c) => c.file === file).map((c) => c.text);
    expect(text("README.md")).toEqual(
      expect.arrayContaining([
        "npx keyhole --version",
        "npx keyhole --help",
        "npx keyhole doctor",
        "npx keyhole gc --dry-run",
      ]),
    );
    expect(text("README.md").some((t) => t.startsWith("npx keyhole compare --backend"))).toBe(true);
    expect(text("apps/cli/README.md").length).toBeGreaterThan(0);
  });

  it.each(commands.map((c) => [`${c.file}:${c.line} ${c.text}`, c]))("parses: %s", (_name, c) => {
    expect(() => parseCommand(c.args)).not.toThrow();
  });

  it.each(safe.map((c) => [`${c.file}:${c.line} ${c.text}`, c]))(
    "runs as written: %s",
    (_name, c) => {
      const r = runAsWritten(c);
      const why = `exit ${r.status}\n--- stdout\n${r.stdout?.slice(-2000)}\n--- stderr\n${r.stderr?.slice(-2000)}`;
      expect(expectedExit(c.args), why).toContain(r.status);
      expect(r.stdout.length, why).toBeGreaterThan(0);
      expect(r.stderr, why).not.toMatch(/npm error|E404|not built yet/);
    },
  );
});
