#!/usr/bin/env node
// The first thing `npm test` and `npm run compare` run, on a machine that may never have seen
// keyhole (Node 20, npm, apt, root). Plain Node, no dependencies: node_modules may not exist yet.
//   1. npm ci when node_modules is missing or older than package-lock.json
//   2. provision the engines (scripts/provision.mjs)
//   3. build @keyhole/probe and load the probe image into Podman and Docker once, up front,
//      so tests running in parallel never race to load it
// Prints one line per step; exits non-zero with the fix when a step fails.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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

async function main() {
  process.chdir(ROOT);
  installDependencies();
  await provision({ log: (step, text) => say("setup", step, text) });
  buildProbe();
  await loadProbeImages();
  log("done", "engines ready; run `npm test` or `npm run compare`");
}

main().then(
  () => process.exit(0),
  (error) => {
    const message =
      error instanceof SetupError || error?.code ? error.message : (error?.stack ?? String(error));
    process.stderr.write(`[setup] failed: ${message}\n`);
    process.exit(1);
  },
);
