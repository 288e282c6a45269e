import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Issue 14: the README's contract block omitted runId and [Symbol.asyncDispose], so a backend
// written from it failed to compile (TS2739). The block is now examples/contract.ts verbatim,
// and this test compiles that file against core's sources with the repository's settings.
const file = fileURLToPath(new URL("../examples/contract.ts", import.meta.url));
const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("README: The contract", () => {
  it("is examples/contract.ts, verbatim", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = readme.match(
      /<!-- example: examples\/contract\.ts -->\s*```ts\n([\s\S]*?)^```$/m,
    )?.[1];
    expect(block).toBe(readFileSync(file, "utf8"));
  });

  it("compiles: a class implementing SecretBackend from it type-checks", () => {
    const base = ts.readConfigFile(`${root}tsconfig.base.json`, ts.sys.readFile).config as object;
    const { options } = ts.parseJsonConfigFileContent(base, ts.sys, root);
    const program = ts.createProgram([file], {
      ...options,
      noEmit: true,
      paths: { "@keyhole/core": [fileURLToPath(new URL("./index.ts", import.meta.url))] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).toEqual([]);
  }, 60_000);
});
