// Finds the workspace's packages: every packages/* and apps/* folder with a package.json.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * @typedef {object} WorkspacePackage
 * @property {string} name package name, e.g. "@keyhole/core"
 * @property {string} version
 * @property {boolean} private true for packages that are never published
 * @property {string} dir absolute folder
 * @property {string} rel folder relative to the repository root, e.g. "packages/core"
 * @property {Record<string, any>} manifest the parsed package.json
 */

/** The groups whose folders are packages; bench/ is a private workspace outside them. */
export const PACKAGE_GROUPS = ["packages", "apps"];

/**
 * Every workspace package under packages/ and apps/, sorted by folder.
 * @param {string} root repository root
 * @returns {WorkspacePackage[]}
 */
export function workspacePackages(root) {
  const found = [];
  for (const group of PACKAGE_GROUPS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir).sort()) {
      const dir = join(groupDir, entry);
      const pkg = readPackage(dir, `${group}/${entry}`);
      if (pkg) found.push(pkg);
    }
  }
  return found;
}

/**
 * The package in `dir`, or undefined when it has no package.json.
 * @param {string} dir absolute folder
 * @param {string} rel folder relative to the repository root (or the folder itself)
 * @returns {WorkspacePackage | undefined}
 */
export function readPackage(dir, rel) {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  return {
    name: manifest.name,
    version: manifest.version,
    private: manifest.private === true,
    dir,
    rel,
    manifest,
  };
}

/** The packages that would be published: every workspace package that is not private. */
export function publicPackages(root) {
  return workspacePackages(root).filter((pkg) => !pkg.private);
}
