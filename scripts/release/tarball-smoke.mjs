// Installs the packed tarballs into a scratch project outside the workspace and uses them the
// way a user would: import every entry point, run `keyhole --version`, and run a real
// describeConformance against podmanFileBackend. Nothing from the monorepo is reachable there.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { cleanNpmEnv, exec, tail } from "./exec.mjs";
import { note, ReleaseCheckError, step } from "./progress.mjs";

/** Checks run by the tarball conformance smoke test: cheap ones sharing two workloads. */
export const SMOKE_CHECKS = [
  "env.child-inherits",
  "file.default-path-owner-mode",
  "file.other-uid-reads-default",
];

/**
 * @param {object} options
 * @param {string} options.root repository root (to read pinned tool versions)
 * @param {Array<import("./pack.mjs").PackedPackage & { manifest: Record<string, any> }>} options.packed
 * @param {boolean} [options.keep] leave the scratch project in place (KEYHOLE_KEEP_SCRATCH=1)
 * @param {Promise<unknown>} [options.after] wait for this before the CPU-heavy conformance run
 */
export async function tarballSmoke({ root, packed, keep = false, after }) {
  const scratch = mkdtempSync(join(tmpdir(), "keyhole-release-smoke-"));
  if (!relative(root, scratch).startsWith("..")) {
    throw new ReleaseCheckError("tarball smoke", [
      `the scratch project ${scratch} is inside the repository; set TMPDIR to a folder outside it`,
    ]);
  }
  try {
    const names = new Set(packed.map((p) => p.name));
    const conformance = names.has("@keyhole/conformance") && names.has("@keyhole/podman");
    await step(
      `install ${packed.length} tarballs into a scratch project outside the workspace`,
      () => install(root, scratch, packed, conformance),
    );
    await step("import every entry point from the installed tarballs (ESM)", () =>
      importAll(scratch, packed),
    );
    const cli = packed.find(
      (p) => typeof p.manifest.bin === "object" && "keyhole" in p.manifest.bin,
    );
    if (cli) {
      await step(
        `keyhole --version, npx keyhole --version, npx ${cli.name} --version from the installed ${cli.name}`,
        () => cliVersion(scratch, cli),
      );
    } else {
      note("skipped keyhole --version: no public package has a `keyhole` bin yet (apps/cli)");
    }
    if (conformance) {
      await after;
      await step(
        `describeConformance(podmanFileBackend) from the installed tarballs (${SMOKE_CHECKS.join(", ")})`,
        () => conformanceRun(scratch),
      );
    } else {
      note(
        "skipped the tarball conformance run: needs @keyhole/conformance and @keyhole/podman in the workspace",
      );
    }
  } finally {
    if (keep) note(`scratch project kept at ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

async function install(root, scratch, packed, withVitest) {
  writeFileSync(
    join(scratch, "package.json"),
    `${JSON.stringify({ name: "keyhole-release-smoke", private: true, type: "module" }, null, 2)}\n`,
  );
  const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const extra = withVitest ? [`vitest@${rootManifest.devDependencies.vitest}`] : [];
  const result = await exec(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ...packed.map((p) => p.tarball),
      ...extra,
    ],
    { cwd: scratch, env: cleanNpmEnv() },
  );
  if (result.code !== 0) {
    throw new ReleaseCheckError("tarball install", [
      `npm install of the packed tarballs failed (a dependency missing from "dependencies", or a range nothing satisfies?):\n${tail(result.stderr || result.stdout)}`,
    ]);
  }
}

/** Every subpath an ESM consumer can import (exports keys except ./package.json and JSON). */
function importSpecifiers(pkg) {
  const exp = pkg.manifest.exports ?? {};
  return Object.keys(exp)
    .filter((sub) => sub !== "./package.json" && !sub.includes("*") && !sub.endsWith(".json"))
    .map((sub) => (sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`));
}

async function importAll(scratch, packed) {
  const specs = packed.flatMap(importSpecifiers);
  // One node process imports everything; each import must resolve inside the scratch project's
  // node_modules and expose at least one name.
  const script = `
const specs = ${JSON.stringify(specs)};
const failures = [];
for (const spec of specs) {
  try {
    const url = import.meta.resolve(spec);
    if (!url.startsWith(${JSON.stringify(pathToFileURL(join(scratch, "node_modules")).href)})) {
      failures.push(spec + " resolved outside the scratch project: " + url);
      continue;
    }
    const mod = await import(spec);
    if (Object.keys(mod).length === 0) failures.push(spec + " exports nothing");
  } catch (error) {
    failures.push(spec + ": " + String(error && error.message || error).split("\\n")[0]);
  }
}
if (failures.length) { console.error(failures.join("\\n")); process.exit(1); }
`;
  writeFileSync(join(scratch, "import-all.mjs"), script);
  const result = await exec(process.execPath, ["import-all.mjs"], { cwd: scratch });
  if (result.code !== 0) {
    throw new ReleaseCheckError("tarball import", [
      `importing the installed packages failed; a dependency is missing from "dependencies" or an export points at a missing file:\n${tail(result.stderr)}`,
    ]);
  }
}

async function cliVersion(scratch, cli) {
  // The bin itself, and the two ways the root README tells a project that installed the CLI.
  const ways = [
    [join(scratch, "node_modules", ".bin", "keyhole"), ["--version"]],
    ["npx", ["keyhole", "--version"]],
    ["npx", [cli.name, "--version"]],
  ];
  for (const [command, args] of ways) {
    const result = await exec(command, args, { cwd: scratch, env: cleanNpmEnv() });
    if (result.code !== 0 || !result.stdout.includes(cli.version)) {
      throw new ReleaseCheckError("keyhole --version", [
        `\`${[command, ...args].join(" ")}\` in a project that installed the tarballs exited ${result.code} and printed ${JSON.stringify(result.stdout.trim())}; it must exit 0 and print ${cli.version}:\n${tail(result.stderr)}`,
      ]);
    }
  }
}

async function conformanceRun(scratch) {
  writeFileSync(
    join(scratch, "vitest.config.mjs"),
    `export default { test: { include: ["*.test.mjs"], testTimeout: 120_000, hookTimeout: 300_000 } };\n`,
  );
  writeFileSync(
    join(scratch, "podman-file.test.mjs"),
    `import { describeConformance } from "@keyhole/conformance/vitest";
import { podmanFileBackend } from "@keyhole/podman";

describeConformance(() => podmanFileBackend(), { checks: ${JSON.stringify(SMOKE_CHECKS)} });
`,
  );
  const result = await exec(
    join(scratch, "node_modules", ".bin", "vitest"),
    ["run", "--reporter=default", "--reporter=json", "--outputFile.json=result.json"],
    { cwd: scratch, env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: "true" } },
  );
  let report;
  try {
    report = JSON.parse(readFileSync(join(scratch, "result.json"), "utf8"));
  } catch {
    report = undefined;
  }
  const passed = report?.numPassedTests ?? 0;
  if (result.code !== 0 || !report || report.numFailedTests > 0 || passed === 0) {
    throw new ReleaseCheckError("tarball conformance", [
      `vitest in the scratch project exited ${result.code} (${passed} passed, ${report?.numFailedTests ?? "?"} failed); the published @keyhole/conformance or @keyhole/podman does not work outside the monorepo:\n${tail(result.stdout + result.stderr, 40)}`,
    ]);
  }
  note(`${passed} conformance tests passed against the installed tarballs`);
}
