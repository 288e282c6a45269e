#!/usr/bin/env node
// Release dry run: everything `changeset publish` would rely on, checked without publishing.
//
//   node scripts/release-dry-run.mjs               full run (part of `npm test`)
//   node scripts/release-dry-run.mjs --skip-smoke  no scratch install (quick local check)
//   node scripts/release-dry-run.mjs --only <dir>  publish checks of one package folder only
//
// Steps: build (turbo) → package.json fields → npm pack → tarball file lists → publint --strict
// and are-the-types-wrong (esm-only) on the tarballs → TSDoc on every export; alongside them a
// `changeset version` rehearsal in a throwaway copy, and the tarballs installed into a scratch
// project outside the workspace: import every entry, `keyhole --version`,
// describeConformance(podmanFileBackend). Exit 1 with what to fix.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { rehearseChangesetVersion } from "./release/changeset-rehearsal.mjs";
import { exec, tail } from "./release/exec.mjs";
import { manifestProblems } from "./release/manifest-checks.mjs";
import { fileListProblems, packPackages } from "./release/pack.mjs";
import { assertNoProblems, elapsed, note, ReleaseCheckError, step } from "./release/progress.mjs";
import { publintProblems } from "./release/publint-check.mjs";
import { tarballSmoke } from "./release/tarball-smoke.mjs";
import { typeEntryPoints, undocumentedDeclarations } from "./release/tsdoc-check.mjs";
import { typeProblems } from "./release/types-check.mjs";
import { publicPackages, readPackage, workspacePackages } from "./release/workspace.mjs";

const root = resolve(import.meta.dirname, "..");

const { values } = parseArgs({
  options: {
    only: { type: "string", multiple: true },
    "skip-smoke": { type: "boolean", default: false },
  },
});

const started = performance.now();
try {
  if (values.only) await checkOnly(values.only.map((d) => resolve(d)));
  else await fullRun(values["skip-smoke"]);
  console.log(`[release-dry-run] passed in ${elapsed(started)}`);
} catch (error) {
  const failures = error instanceof AggregateError ? error.errors : [error];
  for (const failure of failures) {
    console.error(
      failure instanceof ReleaseCheckError
        ? `\n${failure.message}`
        : `\n${failure?.stack ?? failure}`,
    );
  }
  console.error(`\n[release-dry-run] FAILED in ${elapsed(started)}: fix the problems above.`);
  process.exitCode = 1;
}

async function fullRun(skipSmoke) {
  const pkgs = publicPackages(root);
  const workspace = workspaceIndex();
  note(`public packages: ${pkgs.map((p) => p.name).join(", ")}`);

  await step("build (turbo run build)", async () => {
    const turbo = join(root, "node_modules", ".bin", "turbo");
    const filters = pkgs.map((p) => `--filter=${p.name}`);
    const result = await exec(turbo, ["run", "build", ...filters, "--output-logs=errors-only"], {
      cwd: root,
    });
    if (result.code !== 0) {
      throw new ReleaseCheckError("build", [
        `turbo run build failed:\n${tail(result.stdout + result.stderr)}`,
      ]);
    }
  });
  await packAndLint(pkgs, workspace, ({ tarballs, lint }) => {
    const rehearsal = step("changeset version rehearsal (throwaway copy)", rehearse);
    if (skipSmoke) {
      note("skipped the scratch-project smoke test (--skip-smoke)");
      return [rehearsal];
    }
    const smoke = tarballSmoke({
      root,
      packed: tarballs,
      keep: process.env.KEYHOLE_KEEP_SCRATCH === "1",
      // The conformance run starts containers; let the CPU-bound checks finish first.
      after: Promise.allSettled([lint, rehearsal]),
    });
    return [rehearsal, smoke];
  });
}

async function rehearse() {
  const changes = await rehearseChangesetVersion(root);
  note(
    changes.length > 0
      ? `changeset version would release ${changes.map((c) => `${c.name} ${c.from} → ${c.to}`).join(", ")}`
      : "no pending changesets: nothing would be released",
  );
}

/**
 * Checks manifests, packs, checks file lists, then runs publint and are-the-types-wrong on the
 * tarballs while `alongside({ tarballs, lint })` runs other steps. A failed check does not stop
 * the checks that do not depend on it, so one run reports everything there is to fix.
 */
async function packAndLint(pkgs, workspace, alongside = () => []) {
  const settled = [];
  // Handlers attach at once, so a check that fails while another is awaited is not "unhandled".
  const record = (promise) =>
    settled.push(
      promise.then(
        () => undefined,
        (error) => error ?? new Error("unknown failure"),
      ),
    );
  record(
    step("package.json publishing fields", () =>
      assertNoProblems(
        "package.json publishing fields",
        pkgs.flatMap((pkg) => manifestProblems(pkg, { workspace })),
      ),
    ),
  );
  const dest = mkdtempSync(join(tmpdir(), "keyhole-release-tarballs-"));
  try {
    const packed = await step(
      `npm pack (${pkgs.length} package${pkgs.length === 1 ? "" : "s"})`,
      () =>
        packPackages(
          pkgs.map((p) => p.dir),
          dest,
        ),
    ).catch((error) => {
      record(Promise.reject(error));
      return [];
    });
    const tarballs = packed.map((p) => {
      const pkg = pkgs.find((candidate) => candidate.name === p.name);
      return { ...p, dir: pkg.dir, manifest: pkg.manifest };
    });
    if (tarballs.length > 0) {
      record(
        step("tarball file lists (dist + README + package.json only)", () =>
          assertNoProblems(
            "tarball file lists",
            tarballs.flatMap((p) => fileListProblems(p.name, p.manifest, p.files, p.dir)),
          ),
        ),
      );
      const lint = step(
        "publint --strict and are-the-types-wrong (esm-only) on the tarballs",
        async () => {
          const problems = [];
          for (const p of tarballs) {
            problems.push(...(await publintProblems(p)), ...(await typeProblems(p)));
          }
          assertNoProblems("publint / are-the-types-wrong", problems);
        },
      );
      record(lint);
      record(
        lint
          .catch(() => undefined)
          .then(() =>
            step("TSDoc on every exported name (built .d.ts)", () =>
              assertNoProblems(
                "TSDoc on every exported name",
                undocumentedDeclarations(tarballs.flatMap(typeEntryPoints)).map(
                  (name) => `${name} has no TSDoc comment; say what it is, its default, an example`,
                ),
              ),
            ),
          ),
      );
      for (const other of alongside({ tarballs, lint })) record(other);
    }
    const failures = (await Promise.all(settled)).filter((error) => error !== undefined);
    if (failures.length > 0) throw new AggregateError(failures, "release dry run failed");
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

/** `--only <dir>`: the publish checks of the given package folders, nothing else. */
async function checkOnly(dirs) {
  const pkgs = dirs.map((dir) => {
    const pkg = readPackage(dir, workspaceRel(dir));
    if (!pkg) throw new ReleaseCheckError("--only", [`${dir} has no package.json`]);
    return pkg;
  });
  await packAndLint(pkgs, workspaceIndex());
}

function workspaceRel(dir) {
  const inside = workspacePackages(root).find((p) => p.dir === dir);
  return inside ? inside.rel : dir;
}

function workspaceIndex() {
  return new Map(
    workspacePackages(root).map((p) => [p.name, { version: p.version, private: p.private }]),
  );
}
