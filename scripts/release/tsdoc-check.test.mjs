// The TSDoc check names exported declarations without a comment, following re-exports to the
// original declaration.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { typeEntryPoints, undocumentedDeclarations } from "./tsdoc-check.mjs";

const dir = mkdtempSync(join(tmpdir(), "keyhole-tsdoc-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("names every exported declaration without TSDoc, through re-exports", () => {
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  writeFileSync(
    join(dir, "other.d.ts"),
    "/** A documented interface. */\nexport interface Documented {}\nexport interface Bare {}\n",
  );
  writeFileSync(
    join(dir, "index.d.ts"),
    [
      "/** Adds one. */",
      "export declare function addOne(n: number): number;",
      "export declare function bare(): void;",
      "/** The limit. */",
      "export declare const LIMIT = 3;",
      "export declare const OTHER = 4;",
      'export type { Documented, Bare } from "./other.js";',
      "",
    ].join("\n"),
  );
  const entries = typeEntryPoints({
    name: "@keyhole/fixture",
    dir,
    manifest: { exports: { ".": { types: "./index.d.ts", default: "./index.js" } } },
  });
  expect(entries).toEqual([{ specifier: "@keyhole/fixture", file: join(dir, "index.d.ts") }]);
  expect(undocumentedDeclarations(entries)).toEqual([
    "@keyhole/fixture: Bare",
    "@keyhole/fixture: OTHER",
    "@keyhole/fixture: bare",
  ]);
});
