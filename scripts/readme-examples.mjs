#!/usr/bin/env node
// Keeps README examples honest: a package's README embeds example files verbatim, and the
// package's tests run those files, so an example that stops working fails a test and an
// example that changes without its README fails this check.
//
// In a README, a marker names the file; the fenced code block right after it is its content:
//
//   <!-- example: examples/minimal.ts -->
//   ```ts
//   …the file, verbatim…
//   ```
//
//   node scripts/readme-examples.mjs          check every public package (exit 1 on a problem)
//   node scripts/readme-examples.mjs --write  copy each example file into its README block
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { publicPackages } from "./release/workspace.mjs";

/**
 * The package's minimal example, `examples/minimal.<ext>` (usually .ts), or undefined.
 * @param {string} pkgDir absolute package folder
 * @returns {string | undefined} path relative to the package
 */
export function minimalExample(pkgDir) {
  const dir = join(pkgDir, "examples");
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir)
    .sort()
    .find((f) => /^minimal\.[a-z]+$/.test(f));
  return file ? `examples/${file}` : undefined;
}

const MARKER =
  /<!--\s*example:\s*(\S+)\s*-->[ \t]*\r?\n(?:[ \t]*\r?\n)*```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;

/**
 * @typedef {object} EmbeddedExample
 * @property {string} file path relative to the package, as written in the marker
 * @property {string} block the content of the fenced block after the marker
 * @property {number} start index of the marker in the README
 * @property {number} end index just after the closing fence
 * @property {string} lang the fence's info string, e.g. "ts"
 */

/**
 * The examples a README embeds, in order.
 * @param {string} readme README text
 * @returns {EmbeddedExample[]}
 */
export function embeddedExamples(readme) {
  return [...readme.matchAll(MARKER)].map((m) => ({
    file: m[1],
    lang: m[2].trim(),
    block: m[3],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** File content as a README block shows it: one trailing newline. */
function normalize(text) {
  return `${text.replace(/\r\n/g, "\n").trimEnd()}\n`;
}

/** Test files of a package (src/** and test/**, as the root vitest config includes them). */
function testFiles(pkgDir) {
  const found = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry === "node_modules" || entry === "dist") continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.test\.[cm]?[jt]sx?$/.test(entry)) found.push(path);
    }
  };
  walk(join(pkgDir, "src"));
  walk(join(pkgDir, "test"));
  return found;
}

/**
 * Problems with one package's README examples, each saying what to fix. Checks: every marker
 * names an existing file and its block equals the file; every embedded file is run by one of
 * the package's tests (a test mentions `examples/<name>`); when the package has
 * examples/minimal.<ext>, the README embeds it.
 * @param {string} pkgDir absolute package folder
 * @param {string} label how to name the package in messages
 * @returns {string[]}
 */
export function readmeExampleProblems(pkgDir, label) {
  const problems = [];
  const readmePath = join(pkgDir, "README.md");
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : undefined;
  const minimal = minimalExample(pkgDir);
  if (readme === undefined) {
    return minimal ? [`${label}: has ${minimal} but no README.md to embed it in`] : [];
  }
  const embedded = embeddedExamples(readme);
  const tests = testFiles(pkgDir).map((f) => readFileSync(f, "utf8"));
  for (const example of embedded) {
    const path = join(pkgDir, example.file);
    if (!existsSync(path)) {
      problems.push(`${label}: README.md embeds ${example.file}, which does not exist`);
      continue;
    }
    if (normalize(example.block) !== normalize(readFileSync(path, "utf8"))) {
      problems.push(
        `${label}: README.md's block for ${example.file} differs from the file; run \`node scripts/readme-examples.mjs --write\` (the file is the truth: tests run it)`,
      );
    }
    const stem = example.file.replace(/\.[cm]?[jt]sx?$/, "");
    if (!tests.some((t) => t.includes(stem))) {
      problems.push(
        `${label}: no test runs ${example.file}; import it from a test, e.g. \`await import(new URL("../${example.file}", import.meta.url).href)\``,
      );
    }
  }
  if (minimal && !embedded.some((e) => e.file === minimal)) {
    problems.push(
      `${label}: README.md does not embed ${minimal}; add "<!-- example: ${minimal} -->" and a fenced block after it, then run \`node scripts/readme-examples.mjs --write\``,
    );
  }
  return problems;
}

/**
 * Rewrites every embedded block of a README from its file; returns true when it changed.
 * @param {string} pkgDir absolute package folder
 */
export function writeReadmeExamples(pkgDir) {
  const readmePath = join(pkgDir, "README.md");
  if (!existsSync(readmePath)) return false;
  const readme = readFileSync(readmePath, "utf8");
  let out = "";
  let at = 0;
  for (const example of embeddedExamples(readme)) {
    const path = join(pkgDir, example.file);
    if (!existsSync(path)) continue;
    const lang = example.lang || "ts";
    out += `${readme.slice(at, example.start)}<!-- example: ${example.file} -->\n\`\`\`${lang}\n${normalize(readFileSync(path, "utf8"))}\`\`\``;
    at = example.end;
  }
  out += readme.slice(at);
  if (out === readme) return false;
  writeFileSync(readmePath, out);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const write = process.argv.includes("--write");
  const problems = [];
  for (const pkg of publicPackages(root)) {
    if (write && writeReadmeExamples(pkg.dir))
      console.log(`updated ${relative(root, pkg.dir)}/README.md`);
    problems.push(...readmeExampleProblems(pkg.dir, pkg.name));
    if (!minimalExample(pkg.dir)) {
      problems.push(
        `${pkg.name}: has no examples/minimal.ts; write one, embed it in README.md, run it from a test`,
      );
    }
  }
  for (const p of problems) console.error(p);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
