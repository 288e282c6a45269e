import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHECKS, catalogue, checkById } from "./catalogue.js";
import { IMPLEMENTATIONS } from "./checks/index.js";
import { fixtureRequires } from "./fixtures.js";

// The ids DESIGN.md ("The check catalogue") names; the catalogue must keep every one of them.
const DESIGN_IDS = [
  "env.child-inherits",
  "env.exec-session-sees",
  "env.proc-environ-after-unset",
  "env.other-uid-sees",
  "env.same-uid-proc-environ",
  "env.argv-visible-in-ps",
  "env.engine-inspect-shows",
  "file.default-path-owner-mode",
  "file.other-uid-reads-default",
  "file.delete-refused",
  "file.root-overrides-mode",
  "file.write-shared-across-processes",
  "file.capdrop-blocks-write",
  "file.scrub-after-use",
  "file.uid-gid-mode-honoured",
  "file.env-unaffected",
  "file.stdin-keeps-argv-clean",
  "rest.plaintext-on-host",
  "lifecycle.replace",
  "lifecycle.cleanup",
  "limits.max-bytes",
  "limits.binary-exact",
];

// Every figure of the seed article that is an experiment (figs. 4-1 … 5-6, minus 4-1, 4-6 and
// 4-7, which show how to read an env var and that `su -` hides *all* variables).
const SEED_FIGURES = [
  "4-2",
  "4-3",
  "4-4",
  "4-5",
  "4-8",
  "4-9",
  "5-1",
  "5-2",
  "5-3",
  "5-4",
  "5-5",
  "5-6",
];

describe("the check catalogue", () => {
  it("has unique ids of the form <group>.<name>, matching the group", () => {
    const ids = CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CHECKS) {
      expect(c.id).toMatch(/^(env|file|rest|lifecycle|limits|cluster|once|hygiene)\.[a-z0-9-]+$/);
      expect(c.id.split(".")[0]).toBe(c.group);
    }
  });

  it("keeps every id DESIGN.md names, and covers every experiment figure of the seed", () => {
    for (const id of DESIGN_IDS) expect(catalogue.has(id), id).toBe(true);
    const figures = new Set(CHECKS.map((c) => c.seedFigure).filter(Boolean));
    for (const f of SEED_FIGURES) expect(figures.has(f), `fig. ${f}`).toBe(true);
    expect(CHECKS.some((c) => c.group === "hygiene" && c.id === "hygiene.host-argv-environ")).toBe(
      true,
    );
    expect(CHECKS.some((c) => c.id === "hygiene.report-redacted")).toBe(true);
  });

  it("says what exposed and protected mean for every check", () => {
    for (const c of CHECKS) {
      expect(c.title.length, c.id).toBeGreaterThan(10);
      expect(c.exposedMeans.length, c.id).toBeGreaterThan(10);
      expect(c.protectedMeans.length, c.id).toBeGreaterThan(10);
    }
  });

  it("has an implementation for every check but the one the runner judges itself", () => {
    for (const c of CHECKS) {
      if (c.id === "hygiene.report-redacted") expect(IMPLEMENTATIONS[c.id]).toBeUndefined();
      else expect(IMPLEMENTATIONS[c.id], c.id).toBeDefined();
    }
    expect(Object.keys(IMPLEMENTATIONS).every((id) => catalogue.has(id))).toBe(true);
  });

  it("only promises what the check requires, and requires what its first fixture needs", () => {
    for (const c of CHECKS) {
      for (const p of c.promisedBy) expect(c.requires, c.id).toContain(p);
      const first = IMPLEMENTATIONS[c.id]?.fixtures[0];
      if (first) expect([...c.requires].sort(), c.id).toEqual([...fixtureRequires(first)].sort());
      if (c.deliveries.includes("env")) expect(c.requires).toContain("envDelivery");
      if (c.deliveries.includes("file")) expect(c.requires).toContain("fileDelivery");
    }
  });

  it("is documented: the README's table has a row per check, in catalogue order", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const rows = [...readme.matchAll(/^\| `([a-z]+\.[a-z0-9-]+)`\s*\|/gm)].map((m) => m[1]);
    expect(rows).toEqual(CHECKS.map((c) => c.id));
  });

  // Issue 14: the README called "anything left after dispose()" an invariant, but
  // rest.plaintext-after-dispose is not one. The bullet now names the invariant checks by id.
  it("is documented: the README's invariant bullet names exactly the invariant checks", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const bullet = readme.match(/^- an invariant check[\s\S]*?(?=\n- |\n\n)/m)?.[0] ?? "";
    const named = [...bullet.matchAll(/`([a-z]+\.[a-z0-9-]+)`/g)]
      .map((m) => m[1]!)
      .filter((id) => CHECKS.some((c) => c.id === id));
    const invariants = CHECKS.filter((c) => c.invariant).map((c) => c.id);
    expect(new Set(named.filter((id) => invariants.includes(id)))).toEqual(new Set(invariants));
    expect(bullet.replace(/\s+/g, " ")).toContain(
      "`rest.plaintext-after-dispose`, is not an invariant",
    );
  });

  it("is frozen data", () => {
    expect(Object.isFrozen(CHECKS)).toBe(true);
    expect(Object.isFrozen(CHECKS[0])).toBe(true);
  });

  it("checkById names the known ids for an unknown one", () => {
    expect(checkById("env.child-inherits").seedFigure).toBe("4-2");
    expect(() => checkById("env.nope")).toThrow(
      /Unknown check "env\.nope"\. Known checks: env\.child-inherits, /,
    );
  });
});
