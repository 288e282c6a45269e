import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

/**
 * Test helper: transpiles this package's sources (no type check) into a throwaway directory
 * under the root node_modules, so a plain `node` child can run them and still resolve
 * `@keyhole/core` and `dockerode`. Returns the directory and a function that removes it.
 */
export function transpileForChild(tag: string): { dir: string; remove: () => void } {
  const src = import.meta.dirname;
  const dir = join(src, "..", "..", "..", "node_modules", ".cache", `keyhole-docker-swarm-${tag}`);
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(src)) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
    const out = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), out.outputText);
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
