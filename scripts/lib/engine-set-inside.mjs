#!/usr/bin/env node
// Runs INSIDE an engine set's root filesystem (the other Debian release, pivoted to `/` of a
// private mount namespace), with that release's own node. It is the same provisioning code a
// fresh machine of that release runs on its host: package detection and install
// (lib/debian.mjs), the Podman runtime/ulimit trial (lib/podman.mjs), starting dockerd and
// initialising a one-node swarm (lib/docker.mjs). So a Debian 12 host exercises the Debian 13
// path on every setup, and the other way round. Only node builtins and ./*.mjs: the tree has
// no node_modules (and bookworm's node is 18).
//
//   node engine-set-inside.mjs packages '<json>'   host network: apt-get install what is missing
//   node engine-set-inside.mjs engines '<json>'    the set's netns: podman trial + service, dockerd, swarm
//
// <json>: { suite, advertise, cgroupParent, nofile }. Every line it prints starts `[<suite>]`.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { debianSuite, installPackages, missingPackages, requiredPackages } from "./debian.mjs";
import { daemonVersion, initSwarm, startDockerd, swarmState } from "./docker.mjs";
import { run, tail } from "./exec.mjs";
import { ensurePodmanConfig, podmanVersion } from "./podman.mjs";
import { podmanEnv } from "./state-dir.mjs";

/** Where the sockets, pid files and logs live inside the tree (`/run` is a host-side tmpfs). */
export const INSIDE = {
  dir: "/run/kh",
  podmanSocket: "/run/kh/podman.sock",
  dockerSocket: "/run/kh/docker.sock",
  podmanPid: "/run/kh/podman.pid",
  dockerPid: "/run/kh/dockerd.pid",
  logs: "/var/log/keyhole",
};

async function main([stage, json]) {
  const config = JSON.parse(json ?? "{}");
  const suite = debianSuite() ?? "unknown";
  const log = (step, text) => process.stdout.write(`[${suite}] ${step}: ${text}\n`);
  if (config.suite && config.suite !== suite)
    throw new Error(`expected a ${config.suite} tree, /etc/debian_version says ${suite}`);
  if (stage === "packages") return packages(suite, log);
  if (stage === "engines") return engines(config, log);
  throw new Error(`unknown stage ${stage} (packages | engines)`);
}

function packages(suite, log) {
  const wanted = requiredPackages(suite, "set");
  const missing = missingPackages(wanted);
  if (missing.length === 0) {
    log("packages", `all installed (${wanted.join(" ")})`);
    return 0;
  }
  log("packages", `installing ${missing.join(" ")} (apt-get, no Recommends)`);
  // apt's own output goes to stderr: the host keeps it for the error message, not the log.
  const r = installPackages(missing, { recommends: false, stdio: ["ignore", 2, 2] });
  if (!r.ok) throw new Error(`${r.step} failed inside the ${suite} tree`);
  const still = missingPackages(wanted);
  if (still.length > 0) throw new Error(`still missing after install: ${still.join(" ")}`);
  log("packages", `installed ${missing.join(" ")}`);
  return 0;
}

async function engines(config, log) {
  mkdirSync(INSIDE.dir, { recursive: true });
  mkdirSync(INSIDE.logs, { recursive: true });
  const podman = podmanVersion();
  if (!podman) throw new Error("podman does not run inside the tree");
  const conf = ensurePodmanConfig();
  if (conf.state !== "ready") throw new Error(`podman: ${conf.detail}`);
  log("podman", `${podman}; ${conf.detail}`);
  await ensurePodmanService(log);

  process.env.DOCKER_HOST = `unix://${INSIDE.dockerSocket}`;
  const daemon = daemonVersion();
  if (daemon.version) {
    log("dockerd", `already answering (Docker ${daemon.version})`);
  } else {
    const args = [
      "--data-root=/var/lib/docker",
      "--exec-root=/run/kh/docker",
      `--pidfile=${INSIDE.dockerPid}`,
      `--host=unix://${INSIDE.dockerSocket}`,
      "--group=0",
      // No docker0, no NAT to the outside: nothing here needs a network.
      "--bridge=none",
      `--cgroup-parent=${config.cgroupParent}`,
      `--default-ulimit=nofile=${config.nofile}:${config.nofile}`,
    ];
    const logFile = `${INSIDE.logs}/dockerd.log`;
    const pid = await startDockerd({ args, log: logFile });
    log("dockerd", `started (pid ${pid}): Docker ${daemonVersion().version}; ${args.join(" ")}`);
  }
  const swarm = swarmState();
  if (swarm === "active") log("swarm", "already active");
  else if (swarm === "inactive") {
    const r = initSwarm({ advertise: config.advertise });
    if (!r.ok) throw new Error(`docker swarm init failed: ${r.error}`);
    log("swarm", `initialised a one-node swarm (advertise ${config.advertise})`);
  } else throw new Error(`swarm is ${swarm ?? "unknown"}`);
  return 0;
}

/** Starts `podman system service` on the set's socket unless one answers; waits for `_ping`. */
async function ensurePodmanService(log) {
  const url = `unix://${INSIDE.podmanSocket}`;
  const remote = () =>
    run("podman", ["--remote", "--url", url, "version", "--format", "{{.Server.Version}}"], {
      timeout: 10_000,
    });
  if (remote().code === 0) {
    log("podman service", `already answering on ${url}`);
    return;
  }
  const logFile = `${INSIDE.logs}/podman-service.log`;
  const fd = openSync(logFile, "a");
  let child;
  try {
    child = spawn("podman", ["system", "service", "--time=0", url], {
      cwd: "/",
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...podmanEnv(), PODMAN_IGNORE_CGROUPSV1_WARNING: "1" },
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  writeFileSync(INSIDE.podmanPid, `${child.pid}\n`);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = remote();
    if (r.code === 0) {
      log("podman service", `started (pid ${child.pid}): Podman ${r.stdout.trim()} on ${url}`);
      return;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const text = existsSync(logFile) ? tail(readFileSync(logFile, "utf8"), 5) : "";
  throw new Error(`podman system service did not answer on ${url}; ${logFile}:\n${text}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`[inside] failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
