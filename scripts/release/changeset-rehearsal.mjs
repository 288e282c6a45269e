// `changeset version` in a throwaway copy of the repository's manifests: proves the pending
// changesets apply, bump every never-released public package to 0.1.0, and rewrite internal
// dependency ranges, without touching the real tree.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import semver from "semver";
import { exec, tail } from "./exec.mjs";
import { ReleaseCheckError } from "./progress.mjs";
import { workspacePackages } from "./workspace.mjs";

/**
 * @typedef {{ name: string, from: string, to: string }} VersionChange
 */

/**
 * Copies what `changeset version` reads (root package.json, .changeset/, every workspace's
 * package.json and CHANGELOG.md) to a temp folder, runs it there and checks the result.
 * @param {string} root repository root
 * @returns {Promise<VersionChange[]>} the version changes the real release would make
 */
export async function rehearseChangesetVersion(root) {
  const copy = mkdtempSync(join(tmpdir(), "keyhole-changeset-rehearsal-"));
  try {
    const before = workspacePackages(root);
    cpSync(join(root, "package.json"), join(copy, "package.json"));
    cpSync(join(root, ".changeset"), join(copy, ".changeset"), { recursive: true });
    for (const dir of [...before.map((p) => p.rel), ...literalWorkspaces(root)]) {
      for (const file of ["package.json", "CHANGELOG.md"]) {
        if (!existsSync(join(root, dir, file))) continue;
        mkdirSync(join(copy, dir), { recursive: true });
        cpSync(join(root, dir, file), join(copy, dir, file));
      }
    }
    const pending = changesetFiles(copy);

    const changeset = join(root, "node_modules", ".bin", "changeset");
    const result = await exec(changeset, ["version"], {
      cwd: copy,
      env: { ...process.env, CI: "true" },
    });
    if (result.code !== 0) {
      throw new ReleaseCheckError("changeset version", [
        `changeset version exited ${result.code} on the pending changesets (${pending.join(", ") || "none"}); fix them:\n${tail(result.stdout + result.stderr)}`,
      ]);
    }

    const problems = [];
    const left = changesetFiles(copy);
    if (left.length > 0)
      problems.push(`changesets not consumed by "changeset version": ${left.join(", ")}`);

    const after = new Map(
      before.map((p) => [
        p.name,
        JSON.parse(readFileSync(join(copy, p.rel, "package.json"), "utf8")),
      ]),
    );
    const changes = [];
    for (const pkg of before) {
      const next = after.get(pkg.name);
      if (next.version !== pkg.version)
        changes.push({ name: pkg.name, from: pkg.version, to: next.version });
      if (pkg.private) {
        if (next.version !== pkg.version) {
          problems.push(
            `${pkg.name} is private but "changeset version" bumped it; keep privatePackages.version false in .changeset/config.json`,
          );
        }
        continue;
      }
      if (pkg.version === "0.0.0" && next.version !== "0.1.0") {
        problems.push(
          `${pkg.name} has never been released (0.0.0) but the rehearsal gave ${next.version}; add .changeset/<name>.md with "${pkg.name}": minor and one sentence on what it ships (npx changeset)`,
        );
      }
      if (next.version !== pkg.version && !existsSync(join(copy, pkg.rel, "CHANGELOG.md"))) {
        problems.push(`${pkg.name}: "changeset version" wrote no CHANGELOG.md`);
      }
      for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
        for (const [dep, range] of Object.entries(next[field] ?? {})) {
          const target = after.get(dep);
          if (!target || target.private) continue;
          if (!semver.satisfies(target.version, range)) {
            problems.push(
              `${pkg.name}: after versioning, ${field}["${dep}"] is "${range}" but ${dep} becomes ${target.version}; use a caret range of the current version, which changesets rewrites`,
            );
          }
        }
      }
    }
    if (problems.length > 0) throw new ReleaseCheckError("changeset version rehearsal", problems);
    return changes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Pending changeset files (README.md in .changeset/ is not a changeset). */
function changesetFiles(root) {
  return readdirSync(join(root, ".changeset")).filter(
    (f) => f.endsWith(".md") && f.toLowerCase() !== "readme.md",
  );
}

/** Workspace entries of the root package.json that are plain folders (e.g. "bench"). */
function literalWorkspaces(root) {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const globs = Array.isArray(manifest.workspaces)
    ? manifest.workspaces
    : (manifest.workspaces?.packages ?? []);
  return globs.filter((g) => !/[*?{[]/.test(g));
}
