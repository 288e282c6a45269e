#!/usr/bin/env node
// API reference for every public package, generated from TSDoc by TypeDoc into docs/api/
// (gitignored), and a check that every exported name has a TSDoc comment.
//
//   npm run docs                          write docs/api/ and report undocumented exports
//   node scripts/api-docs.mjs --check     only the check (no HTML), exit 1 on an undocumented export
//
// Entry points are the packages' `exports` maps (TypeDoc's "packages" strategy maps each
// dist/*.js back to its src/*.ts through the package's tsconfig.build.json), so the reference
// shows exactly what an importer can reach, subpaths included.
import { readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Application, ReflectionKind } from "typedoc";
import { publicPackages } from "./release/workspace.mjs";

const root = resolve(import.meta.dirname, "..");

/**
 * Builds the TypeDoc project of the given package folders.
 * @param {string[]} dirs absolute package folders
 * @param {{ quiet?: boolean }} [options] quiet: print TypeDoc's errors only
 */
export async function convertPackages(dirs, { quiet = false } = {}) {
  const app = await Application.bootstrapWithPlugins({
    name: "keyhole",
    entryPoints: dirs,
    entryPointStrategy: "packages",
    // The root README links to package folders, which TypeDoc cannot copy; each package page
    // shows that package's README instead.
    readme: "none",
    out: join(root, "docs", "api"),
    logLevel: quiet ? "Error" : "Warn",
    validation: { notExported: true, invalidLink: true, notDocumented: false },
    // Set inside each package. tsconfig.build.json is what builds dist/ (rootDir src, no
    // tests), so TypeDoc can map every exported dist/*.js back to its source.
    packageOptions: {
      tsconfig: "tsconfig.build.json",
      disableGit: true,
      sourceLinkTemplate: "https://github.com/keyhole-dev/keyhole/blob/main/{path}#L{line}",
      excludePrivate: true,
      excludeInternal: true,
    },
  });
  const project = await app.convert();
  if (!project) throw new Error("TypeDoc could not convert the packages; see its errors above");
  // A package whose entry points TypeDoc cannot find is dropped with a mere warning.
  if (dirs.length > 1) {
    const converted = new Set(project.children?.map((c) => c.name));
    const names = dirs.map((d) => JSON.parse(readFileSync(join(d, "package.json"), "utf8")).name);
    const dropped = names.filter((n) => !converted.has(n));
    if (dropped.length > 0) {
      throw new Error(
        `TypeDoc found no entry points in ${dropped.join(", ")}: its tsconfig.build.json must compile src/ to the dist/ files its "exports" name`,
      );
    }
  }
  return { app, project };
}

/** Kinds that group exports rather than being one. */
const CONTAINERS = ReflectionKind.Project | ReflectionKind.Module | ReflectionKind.Namespace;

/**
 * Every exported name without a TSDoc comment, as "package: name (kind) in file".
 * A function's comment sits on its signature; a re-export is judged where it is declared.
 * @param {import("typedoc").ProjectReflection} project
 * @returns {string[]}
 */
export function undocumentedExports(project) {
  const missing = [];
  const visit = (reflection, pkg) => {
    for (const child of reflection.children ?? []) {
      if (child.kindOf(CONTAINERS)) {
        visit(child, reflection.kindOf(ReflectionKind.Project) ? child.name : pkg);
        continue;
      }
      if (child.kindOf(ReflectionKind.Reference)) continue;
      const signatures = [
        ...(child.signatures ?? []),
        ...(child.type?.type === "reflection" ? (child.type.declaration.signatures ?? []) : []),
      ];
      if (child.hasComment() || signatures.some((s) => s.hasComment())) continue;
      const source = child.sources?.[0]?.fullFileName;
      const where = source ? ` in ${relative(root, source)}` : "";
      missing.push(`${pkg}: ${child.name} (${ReflectionKind[child.kind]})${where}`);
    }
  };
  visit(project, project.name);
  return missing.sort();
}

if (import.meta.filename === resolve(process.argv[1] ?? "")) {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const dirs = publicPackages(root).map((p) => p.dir);
  const { app, project } = await convertPackages(dirs, { quiet: values.check });
  const missing = undocumentedExports(project);
  if (!values.check) {
    await app.generateDocs(project, join(root, "docs", "api"));
    console.log(`API reference written to ${relative(root, join(root, "docs", "api"))}/index.html`);
  }
  if (missing.length > 0) {
    console.error(
      `${missing.length} exported names have no TSDoc comment (say what it is, its default, an example):\n${missing.map((m) => `  - ${m}`).join("\n")}`,
    );
    process.exitCode = 1;
  } else {
    console.log("every exported name has a TSDoc comment");
  }
}
