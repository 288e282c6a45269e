#!/usr/bin/env node
// The first thing `npm test` and `npm run compare` run, on a machine that may never have seen
// keyhole (Node 20, npm, apt, root). Plain Node, no dependencies: node_modules may not exist yet.
//   1. npm ci when node_modules is missing or older than package-lock.json
//   2. provision the engines (scripts/provision.mjs)
//   3. build @keyhole/probe and load the probe image into Podman and Docker once, up front,
//      so tests running in parallel never race to load it
//   4. the other Debian release's engine set (scripts/lib/engine-set.mjs), probe image included;
//      KEYHOLE_ENGINE_SETS=host skips it
// Prints one line per step; exits non-zero with the fix when a step fails.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { probeArchive } from "./engine-set.mjs";
import { otherSuite, upSet } from "./lib/engine-set.mjs";
import { run, tail } from "./lib/exec.mjs";
import { SetupError, say } from "./lib/report.mjs";
import { provision } from "./provision.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const log = (step, text) => say("setup", step, text);

function installDependencies() {
  const lock = join(ROOT, "package-lock.json");
  const marker = join(ROOT, "node_modules", ".package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) {
    log("npm ci", "skipped (node_modules is newer than package-lock.json)");
    return;
  }
  log(
    "npm ci",
    existsSync(marker)
      ? "package-lock.json changed; reinstalling"
      : "node_modules missing; installing",
  );
  const r = run("npm", ["ci", "--no-audit", "--no-fund"], {
    timeout: 900_000,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.code !== 0)
    throw new SetupError("npm ci failed (output above)", "npm ci --no-audit --no-fund");
}

function buildProbe() {
  const turbo = join(ROOT, "node_modules", ".bin", "turbo");
  const r = run(turbo, ["run", "build", "--filter=@keyhole/probe", "--output-logs=errors-only"], {
    timeout: 600_000,
  });
  if (r.code !== 0) {
    throw new SetupError(
      `building @keyhole/probe failed:\n${tail(`${r.stdout}\n${r.stderr}`, 20)}`,
      "npx turbo run build --filter=@keyhole/probe",
    );
  }
  log("build", "@keyhole/probe and its dependencies are built");
}

async function loadProbeImages() {
  const probe = await import(
    pathToFileURL(join(ROOT, "packages", "probe", "dist", "index.js")).href
  );
  for (const engine of ["podman", "docker"]) {
    const reference = await probe.ensureProbeImage(engine);
    log("probe image", `${engine} has ${reference}`);
  }
}

/**
 * The other Debian release's engines (scripts/lib/engine-set.mjs), unless
 * KEYHOLE_ENGINE_SETS=host. A failure is loud: with `--allow-missing-set` (npm run compare) it
 * is reported and the host's engines are used alone; otherwise setup fails.
 */
async function engineSet(allowMissing) {
  if (process.env.KEYHOLE_ENGINE_SETS === "host") {
    log("engine set", "KEYHOLE_ENGINE_SETS=host: only the host's engines (no other set)");
    return;
  }
  const suite = otherSuite();
  try {
    const info = await upSet({
      suite,
      probe: await probeArchive(),
      log: (step, text) =>
        log(`engine set ${suite}`, step === "inside" ? text : `${step}: ${text}`),
    });
    const t = info.timings;
    log(
      `engine set ${suite}`,
      `ready in ${(t.total / 1000).toFixed(1)} s: podman ${info.podman.version}, docker ${info.docker.version} (node scripts/engine-set.mjs status|down|remove)`,
    );
  } catch (error) {
    if (!allowMissing) throw error;
    process.stderr.write(
      `[setup] ENGINE SET ${suite.toUpperCase()} NOT AVAILABLE (the host's engines still are): ${error.message}\n`,
    );
  }
}

async function main(argv) {
  process.chdir(ROOT);
  installDependencies();
  await provision({ log: (step, text) => say("setup", step, text) });
  buildProbe();
  await loadProbeImages();
  await engineSet(argv.includes("--allow-missing-set"));
  log("done", "engines ready; run `npm test` or `npm run compare`");
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error) => {
    const message =
      error instanceof SetupError || error?.code ? error.message : (error?.stack ?? String(error));
    process.stderr.write(`[setup] failed: ${message}\n`);
    process.exit(1);
  },
);
