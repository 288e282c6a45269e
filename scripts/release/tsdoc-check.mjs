// "Every exported name has TSDoc", checked on the built declaration files, i.e. on what a user
// of the published package sees in their editor. One TypeScript program for all entry points
// keeps it to seconds (the TypeDoc reference, `npm run docs`, reports the same names).
import { existsSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

/**
 * The `types` file of every `exports` entry of a package, e.g. ("@keyhole/conformance/vitest",
 * "/…/dist/vitest.d.ts").
 * @param {{ name: string, dir: string, manifest: Record<string, any> }} pkg
 * @returns {Array<{ specifier: string, file: string }>}
 */
export function typeEntryPoints(pkg) {
  const entries = [];
  for (const [sub, target] of Object.entries(pkg.manifest.exports ?? {})) {
    const types = typeof target === "object" && target !== null ? target.types : undefined;
    if (typeof types !== "string" || types.includes("*")) continue;
    entries.push({
      specifier: sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`,
      file: join(pkg.dir, types),
    });
  }
  return entries;
}

/**
 * Exported names whose declaration carries no TSDoc comment, as "specifier: name".
 * A re-export counts as documented when the original declaration is.
 * @param {Array<{ specifier: string, file: string }>} entries declaration files to check
 * @returns {string[]}
 */
export function undocumentedDeclarations(entries) {
  const present = entries.filter((e) => existsSync(e.file));
  const program = ts.createProgram(
    present.map((e) => e.file),
    {
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    },
  );
  const checker = program.getTypeChecker();
  const missing = [];
  for (const entry of present) {
    const source = program.getSourceFile(entry.file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const documented = (symbol.declarations ?? []).some(
        (d) => ts.getJSDocCommentsAndTags(d).length > 0,
      );
      if (!documented) missing.push(`${entry.specifier}: ${exported.name}`);
    }
  }
  return missing.sort();
}
