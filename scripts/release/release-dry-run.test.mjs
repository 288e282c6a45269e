// The release checker must fail on a broken package, not only pass on good ones: a temp copy of
// @keyhole/core (built from its sources) passes the publish checks, and the same copy with one
// broken `exports` entry fails them with a message naming the entry.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportsProblems, manifestProblems } from "./manifest-checks.mjs";
import { fileListProblems } from "./pack.mjs";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const dryRun = join(root, "scripts", "release-dry-run.mjs");

/** Runs the dry run on one package folder; never throws, returns exit code and output. */
async function checkOnly(dir) {
  try {
    const { stdout, stderr } = await run(process.execPath, [dryRun, "--only", dir], { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    return { code: error.code, output: `${error.stdout}${error.stderr}` };
  }
}

describe("release dry run on a temp copy of @keyhole/core", () => {
  let work;
  const copyWith = (name, edit) => {
    const dir = join(work, name);
    cpSync(join(work, "built"), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    edit(manifest, dir);
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    return dir;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "keyhole-release-checker-"));
    const built = join(work, "built");
    cpSync(join(root, "packages/core/package.json"), join(built, "package.json"));
    cpSync(join(root, "packages/core/README.md"), join(built, "README.md"));
    // Build from sources into the copy, so the test does not depend on a prior `turbo build`.
    await run(
      process.execPath,
      [
        join(root, "node_modules/typescript/bin/tsc"),
        "-p",
        join(root, "packages/core/tsconfig.build.json"),
        "--outDir",
        join(built, "dist"),
      ],
      { cwd: root },
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("passes the unmodified copy", async () => {
    const result = await checkOnly(copyWith("good", () => {}));
    expect(result.output).toContain("✓ publint --strict and are-the-types-wrong (esm-only)");
    expect(result.output).toContain("[release-dry-run] passed");
    expect(result.code).toBe(0);
  });

  it("fails when an exports entry points at a file that is not built", async () => {
    const dir = copyWith("broken-exports", (m) => {
      m.exports["."].default = "./dist/missing.js";
    });
    const result = await checkOnly(dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      `@keyhole/core: exports["."]["default"] points to ./dist/missing.js, which is not in the tarball`,
    );
    expect(result.output).toContain("publint FILE_DOES_NOT_EXIST");
    expect(result.output).toContain("[release-dry-run] FAILED");
  });

  it("fails when a test file would be published", async () => {
    const dir = copyWith("leaks-tests", (m, d) => {
      m.files = ["dist"];
      writeFileSync(join(d, "dist/index.test.js"), "export {};\n");
    });
    const result = await checkOnly(dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain("@keyhole/core: dist/index.test.js is a test file");
  });
});

describe("manifest checks", () => {
  const workspace = new Map([
    ["@keyhole/core", { version: "0.0.0", private: false }],
    ["runner-registration", { version: "0.0.0", private: true }],
  ]);
  const good = () => ({
    name: "@keyhole/x",
    version: "0.0.0",
    description: "x",
    license: "MIT",
    type: "module",
    keywords: ["x"],
    repository: { type: "git", url: "git+https://example.invalid/x.git", directory: "packages/x" },
    engines: { node: ">=20.11" },
    sideEffects: false,
    exports: {
      ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./package.json": "./package.json",
    },
    files: ["dist"],
    publishConfig: { access: "public" },
    dependencies: { "@keyhole/core": "^0.0.0" },
  });
  const problems = (edit) => {
    const manifest = good();
    edit(manifest);
    return manifestProblems(
      {
        name: manifest.name,
        version: manifest.version,
        private: false,
        dir: "/x",
        rel: "packages/x",
        manifest,
      },
      { workspace },
    );
  };

  it("accepts a complete manifest", () => {
    expect(problems(() => {})).toEqual([]);
  });

  it("wants types first in every conditions object", () => {
    expect(
      exportsProblems(
        {
          exports: {
            ".": { default: "./dist/index.js", types: "./dist/index.d.ts" },
            "./package.json": "./package.json",
          },
        },
        "x",
      ),
    ).toEqual([`x: exports["."] must list "types" first`]);
  });

  it("rejects an internal range changesets would not rewrite", () => {
    expect(
      problems((m) => {
        m.dependencies["@keyhole/core"] = "*";
      }),
    ).toEqual([
      `@keyhole/x (packages/x/package.json): dependencies["@keyhole/core"] is "*"; changesets never rewrites "*", so the release would accept any future @keyhole/core. Use "^0.0.0" (npm still links the workspace copy)`,
    ]);
  });

  it("rejects a dependency on a private workspace package", () => {
    expect(
      problems((m) => {
        m.dependencies["runner-registration"] = "^0.0.0";
      })[0],
    ).toContain("runner-registration is private and never published");
  });

  it("names a missing field and its fix", () => {
    expect(
      problems((m) => {
        delete m.publishConfig;
      }),
    ).toEqual([
      `@keyhole/x (packages/x/package.json): set "publishConfig": { "access": "public" }`,
    ]);
  });
});

describe("tarball file list", () => {
  const manifest = { exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } } };
  const base = ["README.md", "dist/index.d.ts", "dist/index.js", "package.json"];

  it("accepts dist, README and package.json", () => {
    expect(fileListProblems("x", manifest, base, "/nowhere")).toEqual([]);
  });

  it.each([
    ["src/index.ts", "would be published but is not under dist/"],
    ["dist/index.js.map", "is a source map"],
    ["dist/fixtures/data.json", "is a test, fixture or example"],
    ["dist/test-helpers.js", "is a test helper"],
    ["dist/tsconfig.build.tsbuildinfo", "is a TypeScript build cache"],
  ])("rejects %s", (file, reason) => {
    expect(fileListProblems("x", manifest, [...base, file], "/nowhere")[0]).toContain(
      `x: ${file} ${reason}`,
    );
  });
});
