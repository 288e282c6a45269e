// Docker Engine: find or start dockerd (there is no systemd here), then a one-node swarm.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { isRoot, run, tail } from "./exec.mjs";

/** Debian's client, matching its dockerd; `/usr/local/bin/docker` may be a newer client-only binary. */
export function dockerClient() {
  return existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}

/** Where the client looks for the daemon. */
export function dockerHost(env = process.env) {
  return env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

/** The daemon's version, or undefined with the client's complaint when none answers. */
export function daemonVersion({ host } = {}) {
  const args = host ? ["-H", host] : [];
  const r = run(dockerClient(), [...args, "version", "--format", "{{.Server.Version}}"], {
    timeout: 20_000,
  });
  const version = r.stdout.trim();
  return r.code === 0 && version ? { version } : { error: tail(r.stderr || r.stdout, 2) };
}

/**
 * Starts dockerd detached in its own session (it outlives this process), stdio appended to
 * `log`, and waits until `answers()` is true, at most `timeoutMs`. Throws with the log's last
 * lines when dockerd exits or the wait times out. Returns dockerd's pid.
 */
export async function startDockerd({
  binary = "/usr/sbin/dockerd",
  args = [],
  log,
  timeoutMs = 60_000,
  answers = () => daemonVersion().version !== undefined,
}) {
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, "a");
  let exited;
  let child;
  try {
    // cwd "/": a long-lived daemon must not pin the checkout it was started from.
    child = spawn(binary, args, { cwd: "/", detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const spawnError = await new Promise((resolve) => {
    child.once("error", resolve);
    child.once("spawn", () => resolve(undefined));
  });
  if (spawnError) throw new Error(`cannot start ${binary}: ${spawnError.message}`);
  child.once("exit", (code, signal) => {
    exited = signal ?? `code ${code}`;
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    if (answers()) return child.pid;
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = exited ? `dockerd exited (${exited})` : `no answer within ${timeoutMs / 1000} s`;
  let lines = "";
  try {
    lines = tail(readFileSync(log, "utf8"), 8);
  } catch {}
  throw new Error(`${why}; see ${log}\n${lines}`);
}

/**
 * The pid of a dockerd that is already running for the default socket (from
 * /var/run/docker.pid), e.g. one an init script started during `apt-get install docker.io`
 * that does not answer yet; undefined when there is none.
 */
export function runningDockerdPid(pidfile = "/var/run/docker.pid") {
  try {
    const pid = Number(readFileSync(pidfile, "utf8").trim());
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    return comm === "dockerd" ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `answers()` every 250 ms for at most `timeoutMs`; true once it answered. */
export async function waitForDaemon({
  timeoutMs = 60_000,
  answers = () => daemonVersion().version !== undefined,
} = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (answers()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Swarm state of the local node: inactive | pending | active | error | locked, or undefined. */
export function swarmState() {
  const r = run(dockerClient(), ["info", "--format", "{{.Swarm.LocalNodeState}}"], {
    timeout: 20_000,
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** `docker swarm init --advertise-addr <advertise>` (default 127.0.0.1); returns `{ ok, error }`. */
export function initSwarm({ advertise = "127.0.0.1" } = {}) {
  const r = run(dockerClient(), ["swarm", "init", "--advertise-addr", advertise], {
    timeout: 120_000,
  });
  return { ok: r.code === 0, error: tail(r.stderr || r.stdout, 3) };
}

/** Can this process start a daemon for `host`? Only the local default socket, as root. */
export function canStartDaemon(host = dockerHost()) {
  if (!isRoot()) return { ok: false, why: "starting dockerd needs root" };
  if (host !== "unix:///var/run/docker.sock") {
    return {
      ok: false,
      why: `DOCKER_HOST=${host} is not the local default socket; start that daemon yourself`,
    };
  }
  if (!existsSync("/usr/sbin/dockerd"))
    return { ok: false, why: "/usr/sbin/dockerd is missing (package docker.io)" };
  return { ok: true };
}
