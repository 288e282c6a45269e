// The TSDoc check must name an export that has no comment, and accept one that has.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { convertPackages, undocumentedExports } from "./api-docs.mjs";

const root = resolve(import.meta.dirname, "..");
let dir;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "keyhole-api-docs-"));
  mkdirSync(join(dir, "src"));
  const json = (file, value) =>
    writeFileSync(join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
  json("package.json", {
    name: "@keyhole/fixture",
    version: "0.0.0",
    type: "module",
    exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
  });
  json("tsconfig.build.json", {
    extends: join(root, "tsconfig.base.json"),
    compilerOptions: { rootDir: "src", outDir: "dist", types: [] },
    include: ["src"],
  });
  writeFileSync(
    join(dir, "src/index.ts"),
    [
      "/** Adds one. @example addOne(1) // 2 */",
      "export function addOne(n: number): number {",
      "  return n + 1;",
      "}",
      "",
      "export function undocumented(): void {}",
      "",
      "/** Options of nothing. */",
      "export interface Options {",
      "  verbose?: boolean;",
      "}",
      "",
      "export const LIMIT = 3;",
      "",
    ].join("\n"),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("names every exported name without TSDoc, and only those", async () => {
  const { project } = await convertPackages([dir], { quiet: true });
  expect(undocumentedExports(project).map((m) => m.replace(/ in .*$/, ""))).toEqual([
    "@keyhole/fixture: LIMIT (Variable)",
    "@keyhole/fixture: undocumented (Function)",
  ]);
});
