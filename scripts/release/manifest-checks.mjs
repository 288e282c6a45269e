// Publishing fields every public keyhole package must have (issue #7), checked before packing so
// a missing field is reported by name rather than as a confusing downstream failure.
import semver from "semver";

/** Packages that must ship a command, and the command names. */
export const REQUIRED_BINS = { "@keyhole/cli": ["keyhole"] };

const DEPENDENCY_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies"];

/**
 * Problems with one package's package.json, each saying what to change.
 * @param {import("./workspace.mjs").WorkspacePackage} pkg
 * @param {{ workspace: Map<string, { version: string, private: boolean }> }} context
 *   every workspace package, to judge internal dependency ranges
 * @returns {string[]}
 */
export function manifestProblems(pkg, { workspace }) {
  const m = pkg.manifest;
  const at = `${pkg.name ?? pkg.rel} (${pkg.rel}/package.json)`;
  const problems = [];
  const need = (ok, text) => {
    if (!ok) problems.push(`${at}: ${text}`);
  };

  need(typeof m.name === "string" && m.name.length > 0, `set "name"`);
  need(semver.valid(m.version) !== null, `"version" must be a semver version (got ${m.version})`);
  need(typeof m.description === "string" && m.description.length > 0, `add a "description"`);
  need(m.type === "module", `set "type": "module" (keyhole ships ESM only)`);
  need(typeof m.license === "string" && m.license.length > 0, `set "license" (e.g. "MIT")`);
  need(Array.isArray(m.keywords) && m.keywords.length > 0, `add "keywords"`);
  need(typeof m.engines?.node === "string", `set "engines": { "node": ">=20.11" }`);
  need(
    m.sideEffects === false || Array.isArray(m.sideEffects),
    `set "sideEffects": false (or list the files that have side effects)`,
  );
  need(m.publishConfig?.access === "public", `set "publishConfig": { "access": "public" }`);
  need(
    typeof m.repository?.url === "string" && m.repository?.type === "git",
    `set "repository": { "type": "git", "url": "…", "directory": "${pkg.rel}" }`,
  );
  need(
    m.repository?.directory === pkg.rel || pkg.rel.startsWith("/"),
    `"repository.directory" must be "${pkg.rel}" (got ${JSON.stringify(m.repository?.directory)})`,
  );
  need(
    Array.isArray(m.files) && m.files.includes("dist"),
    `set "files": ["dist", "!dist/**/*.test.*", "!dist/**/*.map"] so only the build ships`,
  );
  problems.push(...exportsProblems(m, at));

  for (const bin of REQUIRED_BINS[m.name] ?? []) {
    need(typeof m.bin?.[bin] === "string", `add "bin": { "${bin}": "./bin/${bin}.js" }`);
  }

  for (const field of DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries(m[field] ?? {})) {
      const target = workspace.get(dep);
      if (!target) continue;
      const where = `${field}["${dep}"] is ${JSON.stringify(range)}`;
      if (target.private) {
        problems.push(`${at}: ${where} but ${dep} is private and never published; remove it`);
      } else if (/^(workspace|file|link):/.test(range)) {
        problems.push(
          `${at}: ${where}; npm publishes that protocol verbatim. Use "^${target.version}" (npm still links the workspace copy)`,
        );
      } else if (semver.validRange(range) === null) {
        problems.push(`${at}: ${where}, not a semver range. Use "^${target.version}"`);
      } else if (new semver.Range(range).range === "") {
        problems.push(
          `${at}: ${where}; changesets never rewrites "*", so the release would accept any future ${dep}. Use "^${target.version}" (npm still links the workspace copy)`,
        );
      } else if (!semver.satisfies(target.version, range)) {
        problems.push(
          `${at}: ${where} but the workspace has ${dep}@${target.version}; use "^${target.version}"`,
        );
      }
    }
  }
  return problems;
}

/**
 * Problems with the `exports` map: it must exist, list `types` first in every conditions object
 * that has one, and export `./package.json`.
 * @param {Record<string, any>} m package.json
 * @param {string} at prefix naming the package
 * @returns {string[]}
 */
export function exportsProblems(m, at) {
  const problems = [];
  const exp = m.exports;
  if (exp === null || typeof exp !== "object" || Array.isArray(exp)) {
    return [
      `${at}: add an "exports" map: { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" }, "./package.json": "./package.json" }`,
    ];
  }
  if (!("." in exp)) problems.push(`${at}: "exports" has no "." entry`);
  if (exp["./package.json"] !== "./package.json") {
    problems.push(`${at}: export "./package.json": "./package.json" (tools read it)`);
  }
  for (const [subpath, target] of Object.entries(exp)) {
    if (!subpath.startsWith(".")) {
      problems.push(
        `${at}: "exports" key ${JSON.stringify(subpath)} must be a subpath starting with "."`,
      );
      continue;
    }
    if (subpath === "./package.json") continue;
    if (typeof target === "string") {
      if (/\.[cm]?js$/.test(target)) {
        problems.push(
          `${at}: exports["${subpath}"] is a bare string; use { "types": "….d.ts", "default": "${target}" } so TypeScript finds its types`,
        );
      }
      continue;
    }
    walkConditions(target, [subpath], (path, conditions) => {
      const keys = Object.keys(conditions);
      if (keys.includes("types") && keys[0] !== "types") {
        problems.push(
          `${at}: exports${path.map((k) => `["${k}"]`).join("")} must list "types" first`,
        );
      }
    });
  }
  return problems;
}

function walkConditions(value, path, visit) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  visit(path, value);
  for (const [key, nested] of Object.entries(value)) walkConditions(nested, [...path, key], visit);
}

/**
 * Every file an entry field points at (exports targets, main, types, bin), without "./";
 * wildcard targets are left to publint.
 * @param {Record<string, any>} m package.json
 * @returns {Array<{ field: string, file: string }>}
 */
export function entryFiles(m) {
  const entries = [];
  const add = (field, target) => {
    if (typeof target !== "string" || target.includes("*")) return;
    entries.push({ field, file: target.replace(/^\.\//, "") });
  };
  const visit = (value, field) => {
    if (typeof value === "string") add(field, value);
    else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${field}[${i}]`);
    } else if (value && typeof value === "object") {
      for (const [key, nested] of Object.entries(value)) visit(nested, `${field}["${key}"]`);
    }
  };
  visit(m.exports, "exports");
  add("main", m.main);
  add("types", m.types);
  if (typeof m.bin === "string") add("bin", m.bin);
  else visit(m.bin, "bin");
  return entries;
}
