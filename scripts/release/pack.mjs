// Packs the public packages with npm (the same tarballs `npm publish` would upload) and checks
// what is inside them: the build and the package's docs, nothing else.
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { cleanNpmEnv, exec, tail } from "./exec.mjs";
import { entryFiles } from "./manifest-checks.mjs";
import { ReleaseCheckError } from "./progress.mjs";

/**
 * @typedef {object} PackedPackage
 * @property {string} name
 * @property {string} version
 * @property {string} tarball absolute path of the .tgz
 * @property {string[]} files paths inside the tarball, relative to the package root
 */

/**
 * Runs one `npm pack --json` for all `dirs` into `dest`.
 * @param {string[]} dirs absolute package folders
 * @param {string} dest folder for the tarballs
 * @returns {Promise<PackedPackage[]>} in the order of `dirs`
 */
export async function packPackages(dirs, dest) {
  const result = await exec(
    "npm",
    ["pack", "--json", "--pack-destination", dest, "--no-fund", "--no-audit", ...dirs],
    { cwd: dest, env: cleanNpmEnv() },
  );
  if (result.code !== 0) {
    throw new ReleaseCheckError("npm pack", [
      `npm pack exited ${result.code}; fix what it reports:\n${tail(result.stderr || result.stdout)}`,
    ]);
  }
  /** @type {Array<{ name: string, version: string, filename: string, files: Array<{ path: string }> }>} */
  const reports = JSON.parse(result.stdout);
  return reports.map((r) => ({
    name: r.name,
    version: r.version,
    tarball: join(dest, r.filename),
    files: r.files.map((f) => f.path).sort(),
  }));
}

/** Files npm always ships or that document the package; everything else must be under dist/ (bin stubs aside). */
const DOC_FILE = /^(package\.json|readme(\.md)?|licen[cs]e(\.md|\.txt)?|changelog\.md)$/i;

/** What must never ship, and why; the first match names the problem. */
const FORBIDDEN = [
  [/(^|\/)[^/]+\.(test|spec)\.[^/]+$/, "a test file"],
  [/(^|\/)test[-_][^/]+$/, "a test helper"],
  [/\.map$/, "a source map (its sources are not shipped)"],
  [/(^|\/)(__)?(tests?|fixtures?|examples?|__snapshots__)(__)?\//, "a test, fixture or example"],
  [/\.tsbuildinfo$/, "a TypeScript build cache"],
  [/(?<!\.d)\.[cm]?tsx?$/, "TypeScript source (ship the compiled .js and .d.ts)"],
];

/**
 * Problems with the file list of one packed package.
 * @param {string} name package name
 * @param {Record<string, any>} manifest its package.json
 * @param {string[]} files paths inside the tarball
 * @param {string} dir the package folder (to read bin files)
 * @returns {string[]}
 */
export function fileListProblems(name, manifest, files, dir) {
  const problems = [];
  const fix = `narrow "files" in package.json (e.g. ["dist", "!dist/**/*.test.*", "!dist/**/*.map"]) or the build's tsconfig "exclude"`;
  const bins =
    typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {});
  const binFiles = new Set(bins.map((bin) => posix.normalize(String(bin).replace(/^\.\//, ""))));
  for (const file of files) {
    if (DOC_FILE.test(file)) continue;
    // A committed bin stub (bin/<name>.js loading dist/): it exists before the build, so npm
    // links it at install time in a fresh clone of the monorepo.
    if (file.startsWith("bin/") && binFiles.has(file)) continue;
    if (!file.startsWith("dist/")) {
      problems.push(`${name}: ${file} would be published but is not under dist/; ${fix}`);
      continue;
    }
    const hit = FORBIDDEN.find(([pattern]) => pattern.test(file));
    if (hit) problems.push(`${name}: ${file} is ${hit[1]} and would be published; ${fix}`);
  }
  if (!files.some((f) => /^readme(\.md)?$/i.test(f))) {
    problems.push(`${name}: no README.md in the tarball; write one beside package.json`);
  }
  const shipped = new Set(files);
  for (const { field, file } of entryFiles(manifest)) {
    if (!shipped.has(posix.normalize(file))) {
      problems.push(
        `${name}: ${field} points to ./${file}, which is not in the tarball; fix the path or the build`,
      );
    }
  }
  for (const file of binFiles) {
    if (!shipped.has(file)) continue;
    const firstLine = readFileSync(join(dir, file), "utf8").split("\n", 1)[0];
    if (!firstLine?.startsWith("#!")) {
      problems.push(`${name}: bin ${file} must start with "#!/usr/bin/env node"`);
    }
  }
  return problems;
}
