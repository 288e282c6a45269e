#!/usr/bin/env node
// Provisions the container engines keyhole tests against: Debian packages, a working Podman
// configuration, a running dockerd and a one-node swarm. Idempotent; prints one line per step.
//
//   node scripts/provision.mjs          install / configure / start what is missing
//   node scripts/provision.mjs --check  change nothing; report each engine; exit 0 only if all ready
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { clusterLeftovers, isClean, readClusterMap } from "./lib/cluster.mjs";
import {
  debianSuite,
  installCommand,
  installPackages,
  missingPackages,
  requiredPackages,
} from "./lib/debian.mjs";
import {
  canStartDaemon,
  daemonVersion,
  dockerClient,
  dockerHost,
  initSwarm,
  runningDockerdPid,
  startDockerd,
  swarmState,
  waitForDaemon,
} from "./lib/docker.mjs";
import { otherSuite, setStatus } from "./lib/engine-set.mjs";
import { isRoot, run, tail } from "./lib/exec.mjs";
import { ensurePodmanConfig, podmanVersion } from "./lib/podman.mjs";
import { SetupError, say } from "./lib/report.mjs";
import { keyholeStateDir, podmanEnv } from "./lib/state-dir.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TOOL = "provision";
const PROVISION = "node scripts/provision.mjs";

/**
 * Installs, configures and starts what is missing. Throws {@link SetupError} with the fix
 * when a step cannot be done. Returns true when anything changed.
 */
export async function provision({ log = (step, text) => say(TOOL, step, text) } = {}) {
  let changed = false;

  const wanted = requiredPackages(debianSuite(), "host");
  const missing = missingPackages(wanted);
  if (missing.length === 0) {
    log("packages", `all installed (${wanted.join(" ")})`);
  } else if (!isRoot()) {
    throw new SetupError(
      `missing Debian packages: ${missing.join(" ")} (not root, so not installing)`,
      installCommand(missing),
    );
  } else {
    log("packages", `installing ${missing.join(" ")}`);
    const r = installPackages(missing);
    if (!r.ok) throw new SetupError(`${r.step} failed (output above)`, installCommand(missing));
    const still = missingPackages(wanted);
    if (still.length > 0)
      throw new SetupError(
        `still missing after install: ${still.join(" ")}`,
        installCommand(still),
      );
    log("packages", `installed ${missing.join(" ")}`);
    changed = true;
  }

  const version = podmanVersion();
  if (!version) throw new SetupError("podman does not run", installCommand(["podman", "runc"]));
  const podman = ensurePodmanConfig();
  if (podman.state !== "ready") throw new SetupError(`podman: ${podman.detail}`, podman.fix);
  log("podman", `${version}; ${podman.detail}`);
  changed ||= podman.changed;

  changed = (await ensureDockerd(log)) || changed;

  const swarm = swarmState();
  if (swarm === "active") {
    log("swarm", "already active; not initialised");
  } else if (swarm === "inactive") {
    const r = initSwarm();
    if (!r.ok)
      throw new SetupError(
        `docker swarm init failed: ${r.error}`,
        `${dockerClient()} swarm init --advertise-addr 127.0.0.1`,
      );
    log("swarm", "initialised a one-node swarm (advertise 127.0.0.1)");
    changed = true;
  } else {
    throw new SetupError(
      `swarm is ${swarm ?? "unknown"} (expected active or inactive); keyhole will not leave a swarm it did not create`,
      `${dockerClient()} swarm leave --force && ${PROVISION}`,
    );
  }

  log(
    "engines",
    changed ? "provisioned (see lines above)" : "nothing changed; everything was already in place",
  );
  return changed;
}

/** Finds, waits for or starts dockerd; returns true when it started one. */
async function ensureDockerd(log) {
  const host = dockerHost();
  const daemon = daemonVersion();
  if (daemon.version) {
    log("dockerd", `already answering on ${host} (Docker ${daemon.version}); not started`);
    return false;
  }
  // An init script (apt's postinst, when policy-rc.d allows it) may have just started one.
  const pid = host === "unix:///var/run/docker.sock" ? runningDockerdPid() : undefined;
  if (pid) {
    log("dockerd", `pid ${pid} runs but does not answer yet; waiting up to 60 s`);
    if (await waitForDaemon()) {
      log(
        "dockerd",
        `pid ${pid} answers on ${host} (Docker ${daemonVersion().version}); not started`,
      );
      return false;
    }
    throw new SetupError(
      `dockerd (pid ${pid}) runs but does not answer on ${host} after 60 s; see /var/log/docker.log`,
      `kill ${pid} && sudo ${PROVISION}`,
    );
  }
  const can = canStartDaemon(host);
  if (!can.ok) {
    throw new SetupError(
      `no Docker daemon answers on ${host} (${daemon.error}); ${can.why}`,
      `sudo ${PROVISION}`,
    );
  }
  const logFile = join(keyholeStateDir(), "dockerd.log");
  log("dockerd", `not answering on ${host}; starting /usr/sbin/dockerd (log: ${logFile})`);
  try {
    const started = await startDockerd({ log: logFile });
    log(
      "dockerd",
      `started (pid ${started}); Docker ${daemonVersion().version} answers on ${host}`,
    );
    return true;
  } catch (error) {
    throw new SetupError(`dockerd did not come up: ${error.message}`, `cat ${logFile}`);
  }
}

/**
 * Reports each engine as ready / missing / broken with the fix; changes nothing (a trial
 * `podman run --rm` of a temp rootfs is the only thing it starts). Returns the rows.
 */
export async function check() {
  const rows = [];
  const add = (name, state, detail, fix) => rows.push({ name, state, detail, fix });

  const wanted = requiredPackages(debianSuite(), "host");
  const missing = missingPackages(wanted);
  if (missing.length === 0) add("packages", "ready", wanted.join(" "));
  else add("packages", "missing", missing.join(" "), installCommand(missing));

  const version = podmanVersion();
  if (!version) {
    add("podman", "missing", "podman does not run", installCommand(["podman", "runc"]));
    add("podman config", "missing", "needs podman", PROVISION);
  } else {
    add("podman", "ready", version);
    const conf = existsSync("/bin/busybox")
      ? ensurePodmanConfig({ check: true })
      : {
          state: "missing",
          detail: "trial needs /bin/busybox",
          fix: installCommand(["busybox-static"]),
        };
    add("podman config", conf.state, conf.detail, conf.fix);
  }

  const pass = run("pass", ["version"]);
  const gpg = run("gpg", ["--version"]);
  if (pass.code === 0 && gpg.code === 0) add("pass/gpg", "ready", gpg.stdout.split("\n")[0]);
  else
    add(
      "pass/gpg",
      "missing",
      [pass, gpg]
        .filter((r) => r.code !== 0)
        .map((r) => tail(r.stderr, 1))
        .join("; "),
      installCommand(["pass", "gnupg"]),
    );

  const host = dockerHost();
  const daemon = daemonVersion();
  if (daemon.version) add("docker daemon", "ready", `Docker ${daemon.version} on ${host}`);
  else
    add(
      "docker daemon",
      "missing",
      `no daemon answers on ${host}: ${daemon.error}`,
      isRoot() ? PROVISION : `sudo ${PROVISION}`,
    );

  const swarm = daemon.version ? swarmState() : undefined;
  if (swarm === "active") add("swarm", "ready", "active");
  else if (!daemon.version) add("swarm", "missing", "needs the docker daemon", PROVISION);
  else if (swarm === "inactive") add("swarm", "missing", "inactive", PROVISION);
  else
    add(
      "swarm",
      "broken",
      swarm ?? "unknown",
      `${dockerClient()} swarm leave --force && ${PROVISION}`,
    );

  for (const row of await checkProbeImages({ podman: !!version, docker: !!daemon.version }))
    rows.push(row);
  if (process.env.KEYHOLE_ENGINE_SETS !== "host" && debianSuite()) {
    const suite = otherSuite();
    const s = await setStatus(suite);
    add(`engine set ${suite}`, s.state, s.detail, s.fix);
  }
  rows.push(checkCluster());
  return rows;
}

async function checkProbeImages(usable) {
  const dist = join(ROOT, "packages", "probe", "dist", "index.js");
  let built;
  try {
    const probe = await import(pathToFileURL(dist).href);
    built = probe.buildProbeArchive();
  } catch (error) {
    const why = existsSync(dist)
      ? `cannot build the archive: ${error.message}`
      : "@keyhole/probe is not built";
    return ["podman", "docker"].map((e) => ({
      name: `probe image (${e})`,
      state: "missing",
      detail: why,
      fix: "node scripts/setup.mjs",
    }));
  }
  return ["podman", "docker"].map((engine) => {
    const name = `probe image (${engine})`;
    if (!usable[engine])
      return { name, state: "missing", detail: `needs ${engine}`, fix: "node scripts/setup.mjs" };
    const [bin, env] =
      engine === "podman" ? ["podman", podmanEnv()] : [dockerClient(), process.env];
    const r = run(bin, ["image", "inspect", "--format", "{{.Id}}", built.reference], { env });
    const id = r.stdout.trim().replace(/^(?!sha256:)/, "sha256:");
    if (r.code === 0 && id === built.id) return { name, state: "ready", detail: built.reference };
    if (r.code === 0)
      return {
        name,
        state: "broken",
        detail: `${built.reference} has id ${id}, expected ${built.id}`,
        fix: `${bin} rmi ${built.reference} && node scripts/setup.mjs`,
      };
    return {
      name,
      state: "missing",
      detail: `${built.reference} not loaded`,
      fix: "node scripts/setup.mjs",
    };
  });
}

/**
 * The multi-node swarm of scripts/cluster.mjs. Optional: `off` when it is not up (it is brought
 * up on demand), `broken` when part of one is left behind.
 */
function checkCluster() {
  const name = "cluster (3-node swarm)";
  const map = readClusterMap();
  const left = clusterLeftovers();
  if (map && left.pids.length > 0) {
    const nodes = map.nodes.map((n) => `${n.name} ${n.role}`).join(", ");
    return { name, state: "ready", detail: `${nodes}; manager ${map.manager}` };
  }
  if (!map && left.pids.length > 0)
    return { name, state: "off", detail: "coming up (no node map yet)" };
  if (isClean(left))
    return {
      name,
      state: "off",
      detail: "not running (optional: the compare cluster column brings it up)",
      fix: "node scripts/cluster.mjs up",
    };
  return {
    name,
    state: "broken",
    detail: `a partial cluster is left (${left.netns.length} namespace(s), ${left.pids.length} process(es))`,
    fix: "node scripts/cluster.mjs down && node scripts/cluster.mjs up",
  };
}

function printRows(rows) {
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(width)}  ${r.state.padEnd(7)}  ${r.detail}\n`);
    if (r.fix && r.state !== "ready")
      process.stdout.write(`${"".padEnd(width)}  ${"".padEnd(7)}  fix: ${r.fix}\n`);
  }
}

async function main(argv) {
  if (argv.includes("--check")) {
    const rows = await check();
    printRows(rows);
    // An optional engine that is off is no failure.
    const bad = rows.filter((r) => r.state !== "ready" && r.state !== "off");
    process.stdout.write(bad.length === 0 ? "all ready\n" : `${bad.length} not ready\n`);
    return bad.length === 0 ? 0 : 1;
  }
  await provision();
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `[${TOOL}] failed: ${error instanceof SetupError ? error.message : error.stack}\n`,
      );
      process.exit(1);
    },
  );
}
