// README examples stay honest: each public package's README embeds its example files verbatim,
// a test of the package runs them, and they type-check against the packages' sources.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import {
  embeddedExamples,
  minimalExample,
  readmeExampleProblems,
  writeReadmeExamples,
} from "./readme-examples.mjs";
import { publicPackages, workspacePackages } from "./release/workspace.mjs";

const root = resolve(import.meta.dirname, "..");
const packages = publicPackages(root);

describe("README examples of every public package", () => {
  it.each(packages.map((p) => [p.name, p.dir]))(
    "%s: embedded blocks equal their files and a test runs them",
    (name, dir) => {
      expect(readmeExampleProblems(dir, name)).toEqual([]);
    },
  );

  it("every public package has examples/minimal.ts", () => {
    const missing = packages.filter((p) => !minimalExample(p.dir)).map((p) => p.name);
    expect(missing, "write examples/minimal.ts, embed it in README.md, run it from a test").toEqual(
      [],
    );
  });

  it("the examples type-check against the packages' sources", () => {
    const examples = packages
      .map((p) => minimalExample(p.dir) && join(p.dir, minimalExample(p.dir)))
      .filter((f) => f?.endsWith(".ts"));
    expect(typeErrors(examples)).toEqual([]);
  });
});

/** Type errors in `files` only (the sources they import are type-checked by their packages). */
function typeErrors(files) {
  if (files.length === 0) return [];
  const base = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.base.json"),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  const paths = {};
  for (const pkg of workspacePackages(root)) {
    for (const sub of Object.keys(pkg.manifest.exports ?? {})) {
      if (sub === "./package.json") continue;
      const src = join(pkg.dir, "src", `${sub === "." ? "index" : sub.slice(2)}.ts`);
      if (existsSync(src)) paths[sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`] = [src];
    }
  }
  const program = ts.createProgram(files, {
    ...base.options,
    noEmit: true,
    paths,
    typeRoots: [join(root, "node_modules/@types")],
  });
  return files.flatMap((file) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) =>
      ts
        .formatDiagnostic(d, {
          ...ts.sys,
          getCanonicalFileName: (f) => f,
          getNewLine: () => "\n",
          getCurrentDirectory: () => root,
        })
        .trim(),
    ),
  );
}

describe("the README example checker", () => {
  const work = mkdtempSync(join(tmpdir(), "keyhole-readme-examples-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const example = 'import { x } from "@keyhole/x";\n\nconsole.log(x);\n';
  const fixture = (name, { readme, test = 'await import("../examples/minimal.ts");\n' }) => {
    const dir = join(work, name);
    mkdirSync(join(dir, "examples"), { recursive: true });
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "examples/minimal.ts"), example);
    writeFileSync(join(dir, "src/readme-example.test.ts"), test);
    writeFileSync(join(dir, "README.md"), readme);
    return dir;
  };
  const embed = (code) =>
    `# x\n\n<!-- example: examples/minimal.ts -->\n\`\`\`ts\n${code}\`\`\`\n\nMore.\n`;

  it("accepts a README that embeds the file verbatim", () => {
    const dir = fixture("ok", { readme: embed(example) });
    expect(embeddedExamples(readFileSync(join(dir, "README.md"), "utf8"))).toMatchObject([
      { file: "examples/minimal.ts", lang: "ts", block: example },
    ]);
    expect(readmeExampleProblems(dir, "x")).toEqual([]);
  });

  it("rejects a README block that drifted from the file, and --write repairs it", () => {
    const dir = fixture("drift", { readme: embed(example.replace("x);", "y);")) });
    expect(readmeExampleProblems(dir, "x")).toEqual([
      "x: README.md's block for examples/minimal.ts differs from the file; run `node scripts/readme-examples.mjs --write` (the file is the truth: tests run it)",
    ]);
    expect(writeReadmeExamples(dir)).toBe(true);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe(embed(example));
    expect(readmeExampleProblems(dir, "x")).toEqual([]);
  });

  it("rejects an example no test runs", () => {
    const dir = fixture("untested", { readme: embed(example), test: "export {};\n" });
    expect(readmeExampleProblems(dir, "x")[0]).toContain("x: no test runs examples/minimal.ts");
  });

  it("rejects a minimal example the README does not embed", () => {
    const dir = fixture("unembedded", { readme: "# x\n" });
    expect(readmeExampleProblems(dir, "x")[0]).toContain(
      "x: README.md does not embed examples/minimal.ts",
    );
  });

  it("type-checks an example against the workspace sources and reports its errors", () => {
    // .mts: the temp folder has no package.json with "type": "module".
    const file = join(work, "typed.mts");
    writeFileSync(
      file,
      'import { redact } from "@keyhole/core";\n\nexport const ok: string = redact("a");\nexport const wrong: number = redact("a");\n',
    );
    const errors = typeErrors([file]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("typed.mts(4,14): error TS2322");
  });

  it("rejects a marker naming a missing file", () => {
    const dir = fixture("missing", { readme: embed(example).replace("minimal.ts", "gone.ts") });
    expect(readmeExampleProblems(dir, "x")).toContain(
      "x: README.md embeds examples/gone.ts, which does not exist",
    );
  });
});
