#!/usr/bin/env node
// `npm run compare`: the README's main job on a fresh machine.
//   1. node scripts/setup.mjs: install dependencies, provision the engines, build the probe image
//   2. build the CLI and everything it depends on (turbo)
//   3. a 3-node swarm (scripts/cluster.mjs up) for the docker-swarm-cluster column, unless
//      --no-cluster or a --backend list without it; taken down again at the end
//   4. keyhole compare: the table on the terminal, the HTML report in reports/keyhole-report.html
// Extra arguments go to `keyhole compare` (e.g. `npm run compare -- --backend podman-file`).
// Exits with keyhole's exit code (0 ran fine, 1 a check errored, 2 bad usage, 3 no backend).
// Plain Node, no dependencies: node_modules may not exist when it starts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const REPORT = join(ROOT, "reports", "keyhole-report.html");
const CLUSTER = join(ROOT, "scripts", "cluster.mjs");

/** Runs a step with inherited stdio; returns its exit code (signals count as failures). */
function step(title, command, args) {
  process.stderr.write(`[compare] ${title}\n`);
  const r = spawnSync(command, args, { cwd: ROOT, stdio: "inherit" });
  if (r.error) {
    process.stderr.write(`[compare] could not start ${command}: ${r.error.message}\n`);
    return 1;
  }
  return r.status ?? 1;
}

function main() {
  const setup = step("setup: dependencies, engines, probe image", process.execPath, [
    join(ROOT, "scripts", "setup.mjs"),
    // A set that cannot be provisioned is reported loudly; the host's engines still compare.
    "--allow-missing-set",
  ]);
  if (setup !== 0) {
    process.stderr.write(
      "[compare] setup failed (see above); fix it and run `npm run compare` again.\n",
    );
    return setup;
  }
  const turbo = join(ROOT, "node_modules", ".bin", "turbo");
  const build = step("build: @keyhole/cli and its dependencies", turbo, [
    "run",
    "build",
    "--filter=@keyhole/cli...",
    "--output-logs=errors-only",
  ]);
  if (build !== 0) {
    process.stderr.write(
      "[compare] the build failed (see above); run `npx turbo run build --filter=@keyhole/cli...` to see it again.\n",
    );
    return build;
  }
  mkdirSync(join(ROOT, "reports"), { recursive: true });
  const args = process.argv.slice(2);
  const cluster = wantsCluster(args) ? bringUpCluster() : { ours: false };
  const started = Date.now();
  const code = step("keyhole compare", process.execPath, [
    join(ROOT, "apps", "cli", "dist", "bin.js"),
    "compare",
    "--format",
    "html",
    "--out",
    REPORT,
    ...args,
  ]);
  if (cluster.ours) {
    const down = step("cluster: take the 3-node swarm down", process.execPath, [CLUSTER, "down"]);
    if (down !== 0)
      process.stderr.write(
        "[compare] cluster down failed (see above); run `node scripts/cluster.mjs down`.\n",
      );
  }
  // Compared with the start time, not a fixed age: only a report this run wrote is announced.
  const written = existsSync(REPORT) && statSync(REPORT).mtimeMs >= started - 1000;
  process.stderr.write(
    written
      ? `[compare] HTML report: ${relative(process.cwd(), REPORT)} (open file://${REPORT})\n`
      : `[compare] keyhole compare exited ${code} without writing ${REPORT}.\n`,
  );
  return code;
}

/** False with --no-cluster, or a --backend list that leaves docker-swarm-cluster out. */
function wantsCluster(args) {
  if (args.includes("--no-cluster")) return false;
  const backends = args.flatMap((a, i) =>
    args[i - 1] === "--backend"
      ? a.split(",")
      : a.startsWith("--backend=")
        ? a.slice(10).split(",")
        : [],
  );
  return backends.length === 0 || backends.includes("docker-swarm-cluster");
}

/**
 * Brings the default cluster up unless it already is (then it is left running). A failure is
 * said loudly and the compare goes on: its cluster column then says why it could not run.
 */
function bringUpCluster() {
  const status = spawnSync(process.execPath, [CLUSTER, "status"], { cwd: ROOT, stdio: "ignore" });
  if (status.status === 0) {
    process.stderr.write(
      "[compare] cluster: the 3-node swarm is already up; using it (left running)\n",
    );
    return { ours: false };
  }
  const code = step("cluster: bring up a 3-node swarm (1 manager, 2 workers)", process.execPath, [
    CLUSTER,
    "up",
  ]);
  if (code !== 0) {
    process.stderr.write(
      "[compare] CLUSTER NOT AVAILABLE: `node scripts/cluster.mjs up` failed (see above); the docker-swarm-cluster column will say so. Skip it with --no-cluster.\n",
    );
    spawnSync(process.execPath, [CLUSTER, "down"], { cwd: ROOT, stdio: "inherit" });
    return { ours: false };
  }
  return { ours: true };
}

process.exit(main());
