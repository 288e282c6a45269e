import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Report } from "@keyhole/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// keyhole diff and compare --baseline on report files written by a real `keyhole compare`
// (real Podman). The built bin is what `npm test` has built before vitest runs.
const BIN = join(import.meta.dirname, "..", "dist", "bin.js");
const CHECKS = "env.child-inherits,file.default-path-owner-mode";

const run = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 600_000,
  });

describe("keyhole diff on reports of a real compare (podman-file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-diff-e2e-"));
  let real: Report;

  beforeAll(() => {
    expect(existsSync(BIN), `${BIN} is missing: run npx turbo run build`).toBe(true);
    const r = run(
      [
        "compare",
        "--engines",
        "host",
        "--backend",
        "podman-file",
        "--check",
        CHECKS,
        "--out",
        "after.json",
        "--quiet",
      ],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    real = JSON.parse(readFileSync(join(dir, "after.json"), "utf8")) as Report;
    // The "before" a CI job would have pinned: the same real report, but with the exposed
    // verdict still protected (an engine that used to keep this check closed).
    const exposed = real.backends[0]?.results.find((x) => x.outcome === "exposed");
    expect(exposed?.check, "podman-file exposes env.child-inherits (a variable is inherited)").toBe(
      "env.child-inherits",
    );
    const pinned = structuredClone(real);
    for (const x of pinned.backends[0]!.results) {
      if (x.check === "env.child-inherits") x.outcome = "protected";
    }
    writeFileSync(join(dir, "pinned.json"), JSON.stringify(pinned));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 and says nothing changed on identical reports", () => {
    const r = run(["diff", "after.json", "after.json"], dir);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(
      `no verdict changed · ${real.backends[0]!.results.length} unchanged`,
    );
    expect(r.stdout).toContain("Nothing got worse.");
    expect(r.status).toBe(0);
  });

  it("exits 4 and names the check when a verdict went from protected to exposed", () => {
    const r = run(["diff", "pinned.json", "after.json"], dir);
    const engine = `podman ${real.backends[0]!.engine.version}`;
    expect(r.stdout).toMatch(
      new RegExp(
        `^WORSE\\s+podman-file · ${engine.replace(/\./g, "\\.")}\\s+env\\.child-inherits\\s+protected\\s+EXPOSED$`,
        "m",
      ),
    );
    expect(r.status).toBe(4);
    const json = run(["diff", "pinned.json", "after.json", "--format", "json"], dir);
    expect(json.status).toBe(4);
    expect(JSON.parse(json.stdout).changes).toMatchObject([
      { check: "env.child-inherits", before: "protected", after: "exposed", change: "worse" },
    ]);
    // The other way round it got better: exit 0.
    expect(run(["diff", "after.json", "pinned.json"], dir).status).toBe(0);
  });

  it("compare --baseline runs, prints the report and the diff, and exits 4 in one step", () => {
    const r = run(
      [
        "compare",
        "--engines",
        "host",
        "--backend",
        "podman-file",
        "--check",
        CHECKS,
        "--baseline",
        "pinned.json",
      ],
      dir,
    );
    expect(r.stdout).toContain("env.child-inherits");
    expect(r.stdout).toContain("keyhole diff\n  first:  pinned.json");
    expect(r.stdout).toMatch(/^WORSE\s+podman-file · podman \S+\s+env\.child-inherits/m);
    expect(r.status).toBe(4);
  });

  it("compare --baseline with a bad baseline exits 2 before touching an engine", () => {
    writeFileSync(join(dir, "page.html"), "<html></html>");
    const r = run(["compare", "--backend", "podman-file", "--baseline", "page.html"], dir);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^page\.html is not JSON, so not a keyhole report/);
    expect(r.status).toBe(2);
  });
});
