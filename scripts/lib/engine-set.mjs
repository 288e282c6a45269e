// Engine sets: the OTHER Debian release's Podman and Docker (Debian 13's on a Debian 12 host,
// Debian 12's on a Debian 13 host), run from a root filesystem under keyhole's state dir,
// beside the host's own engines and without touching them.
//
// Layout of a set (suite = bookworm | trixie), all under <state>/sets/<suite>/:
//   rootfs/              debootstrap --variant=minbase <suite> + apt inside (cached)
//   rootfs/run           a tmpfs mounted on the host: the API sockets (run/kh/*.sock) and pid
//                        files are plain files the host can connect() to
//   set.json             what `up` found: versions, sockets, pids, the CLI prefix, storage paths
//   stamp.json           what was installed (package versions), so `status` can say so
// The engines run with the tree as the real root of a private mount namespace (pivot_root:
// a plain chroot lets `podman exec` land on the host's root) inside network namespace
// kh-set-<suite>, which holds only lo and a veth pair whose address the swarm advertises.
// Inside, the SAME provisioning code a fresh machine of that release would run does the work
// (lib/engine-set-inside.mjs, with the tree's own node).
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { debianSuite, installPackages, missingPackages } from "./debian.mjs";
import { isRoot, run, tail } from "./exec.mjs";
import { hardLimits } from "./podman.mjs";
import { SetupError } from "./report.mjs";
import { keyholeStateDir } from "./state-dir.mjs";
import { pings, request } from "./unix-http.mjs";

const LIB = dirname(fileURLToPath(import.meta.url));
const CMD = "node scripts/engine-set.mjs";
const VERSIONS = { bookworm: "12", trixie: "13" };
/** Free space the first provisioning needs (the tree is ~0.8 GB, apt downloads ~0.15 GB). */
const FIRST_TIME_BYTES = 2 * 1024 ** 3;
const PATH_ENV = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

/** The release that is not the host's: bookworm <-> trixie. Throws on other systems. */
export function otherSuite(host = debianSuite()) {
  if (host === "bookworm") return "trixie";
  if (host === "trixie") return "bookworm";
  throw new SetupError(
    `engine sets need a Debian 12 or 13 host; /etc/debian_version says ${host ?? "something else"}`,
    "KEYHOLE_ENGINE_SETS=host npm run compare",
  );
}

/** Every path and name of the set for `suite`. */
export function setLayout(suite) {
  const dir = join(keyholeStateDir(), "sets", suite);
  const root = join(dir, "rootfs");
  const third = suite === "trixie" ? 13 : 12;
  return {
    suite,
    debianVersion: VERSIONS[suite],
    dir,
    root,
    partial: join(dir, "rootfs.partial"),
    done: join(root, "var", "lib", "keyhole-debootstrap.done"),
    run: join(root, "run"),
    podmanSocket: join(root, "run", "kh", "podman.sock"),
    dockerSocket: join(root, "run", "kh", "docker.sock"),
    podmanPid: join(root, "run", "kh", "podman.pid"),
    dockerPid: join(root, "run", "kh", "dockerd.pid"),
    logs: join(root, "var", "log", "keyhole"),
    info: join(dir, "set.json"),
    stamp: join(dir, "stamp.json"),
    lock: join(dir, "lock"),
    netns: `kh-set-${suite}`,
    // Exists only inside the set's netns (veth pair with both ends there).
    address: `10.213.${third}.1`,
    cgroupParent: `/kh-set-${suite}-docker`,
  };
}

/** The Debian mirror: $KEYHOLE_DEBIAN_MIRROR, else the host's first deb.debian.org-style URI. */
export function debianMirror() {
  if (process.env.KEYHOLE_DEBIAN_MIRROR) return process.env.KEYHOLE_DEBIAN_MIRROR;
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    try {
      const text = readFileSync(file, "utf8");
      const m =
        /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) ?? /^deb\s+(\S+\/debian)\/?\s/m.exec(text);
      if (m) return m[1];
    } catch {}
  }
  return "http://deb.debian.org/debian";
}

// Runs "$@" with the tree $1 as the real root of a new private mount namespace. Bind the tree
// onto itself (pivot_root needs a mount point; brings the host-side run/ tmpfs along), give it
// its own proc, sysfs (of the current netns) and /dev/shm (Podman's shm lock must not be the
// host Podman's), then pivot and drop the old root.
const ENTER = `R=$1; shift
mount --rbind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
mkdir -p "$R/.oldroot"; cd "$R"
pivot_root . .oldroot
umount -l /.oldroot; cd /
exec /usr/bin/env -i ${PATH_ENV} HOME=/root LANG=C.UTF-8 "$@"`;

/** argv that runs `command` pivoted into the tree, in the set's netns when `netns`. */
export function enterArgv(layout, command, { netns = false } = {}) {
  const enter = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-ec", ENTER];
  const argv = [...enter, "enter-root", layout.root, ...command];
  // nsenter --net, not `ip netns exec`: the latter leaves /sys/fs/cgroup empty.
  return netns ? ["nsenter", `--net=/run/netns/${layout.netns}`, ...argv] : argv;
}

/** A live pid whose namespaces are the running set's (dockerd, else the Podman service). */
export function anchorPid(layout) {
  for (const file of [layout.dockerPid, layout.podmanPid]) {
    const pid = readPid(file);
    if (pid && inNetns(pid, layout)) return pid;
  }
  return undefined;
}

function readPid(file) {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function netnsInode(layout) {
  try {
    return statSync(`/run/netns/${layout.netns}`).ino;
  } catch {
    return undefined;
  }
}

function inNetns(pid, layout) {
  const ino = netnsInode(layout);
  try {
    return ino !== undefined && statSync(`/proc/${pid}/ns/net`).ino === ino;
  } catch {
    return false;
  }
}

/** The set's CLI prefix for `kind`, run from the host: nsenter into the set's namespaces. */
export function cliPrefix(layout, kind, pid = anchorPid(layout)) {
  if (!pid) return undefined;
  // env -i: nothing of the host's environment (CONTAINERS_CONF, DOCKER_HOST) reaches the set's CLI.
  const enter = [
    "nsenter",
    "-t",
    String(pid),
    "-m",
    "-n",
    "--",
    "/usr/bin/env",
    "-i",
    PATH_ENV,
    "HOME=/root",
  ];
  return kind === "podman"
    ? [...enter, "podman", "--remote", "--url", "unix:///run/kh/podman.sock"]
    : [...enter, "docker", "-H", "unix:///run/kh/docker.sock"];
}

/** Spawns `argv`; streams stdout lines to `onLine`; resolves `{ code, stderr }`. */
function stream(argv, onLine, { timeoutMs = 1_800_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let buffer = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on("error", (error) => resolve({ code: 127, stderr: error.message }));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (buffer) onLine(buffer);
      resolve({ code: code ?? 1, stderr });
    });
  });
}

/** Waits for the set's lock (a directory holding the owner's pid); a dead owner's lock is taken over. */
async function withLock(layout, fn) {
  mkdirSync(layout.dir, { recursive: true });
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(layout.lock);
      writeFileSync(join(layout.lock, "pid"), `${process.pid}\n`);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      const owner = readPid(join(layout.lock, "pid"));
      if (!owner) {
        rmSync(layout.lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new SetupError(`the ${layout.suite} set is locked by pid ${owner}`, `kill ${owner}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(layout.lock, { recursive: true, force: true });
  }
}

/** Host mounts at or below `path` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(path) {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m) => m && (m === path || m.startsWith(`${path}/`)))
    .map((m) => m.replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
}

function isMountpoint(path) {
  return mountsUnder(path).includes(path);
}

/**
 * Provisions and starts the set for `suite` (default: the release that is not the host's):
 * debootstrap (once), apt inside (what is missing), the netns, the Podman API service, dockerd
 * and a one-node swarm, then loads `probe` (an archive from @keyhole/probe) into both engines.
 * Idempotent; a second run only checks. `log(step, text)` gets one line per step, including
 * the lines the provisioning code prints inside the tree. Throws {@link SetupError}.
 */
export async function upSet({ suite = otherSuite(), log = () => {}, probe } = {}) {
  if (!isRoot())
    throw new SetupError("engine sets need root (namespaces, mounts)", `sudo ${CMD} up`);
  const layout = setLayout(suite);
  return withLock(layout, async () => {
    const timings = {};
    const time = async (name, fn) => {
      const t0 = Date.now();
      const r = await fn();
      timings[name] = Date.now() - t0;
      return r;
    };
    const t0 = Date.now();
    await time("debootstrap", () => ensureTree(layout, log));
    await time("packages", () => ensurePackages(layout, log));
    await time("engines", () => ensureEngines(layout, log));
    const info = await time("probe", () => writeInfo(layout, probe, log));
    timings.total = Date.now() - t0;
    info.timings = timings;
    writeFileSync(layout.info, `${JSON.stringify(info, null, 2)}\n`);
    return info;
  });
}

async function ensureTree(layout, log) {
  if (existsSync(layout.done)) {
    log("rootfs", `${layout.root} (debian ${layout.debianVersion}, cached)`);
    return;
  }
  const free = freeBytes(layout.dir);
  if (free < FIRST_TIME_BYTES)
    throw new SetupError(
      `not enough disk space for the ${layout.suite} set: ${gib(free)} free in ${layout.dir}, ${gib(FIRST_TIME_BYTES)} needed`,
      `free space there, or point KEYHOLE_STATE_DIR at a larger disk (or KEYHOLE_ENGINE_SETS=host)`,
    );
  if (missingPackages(["debootstrap"]).length > 0) {
    log("debootstrap", "not installed; apt-get install debootstrap");
    const r = installPackages(["debootstrap"], { stdio: ["ignore", "ignore", "inherit"] });
    if (!r.ok)
      throw new SetupError(
        `${r.step} failed (installing debootstrap)`,
        "apt-get install -y debootstrap",
      );
  }
  const mirror = debianMirror();
  // A crash mid-debootstrap leaves rootfs.partial (possibly with proc/sys mounted): start over.
  cleanPartial(layout);
  rmSync(layout.root, { recursive: true, force: true });
  log(
    "debootstrap",
    `--variant=minbase --include=nodejs ${layout.suite} from ${mirror} (first time; about a minute)`,
  );
  const t0 = Date.now();
  const progress = setInterval(
    () => log("debootstrap", `still running (${Math.round((Date.now() - t0) / 1000)} s)`),
    20_000,
  );
  const r = await stream(
    ["debootstrap", "--variant=minbase", "--include=nodejs", layout.suite, layout.partial, mirror],
    () => {},
  ).finally(() => clearInterval(progress));
  if (r.code !== 0) {
    cleanPartial(layout);
    throw new SetupError(
      `debootstrap of ${layout.suite} from ${mirror} failed (mirror unreachable? no space?):\n${tail(r.stderr, 6)}`,
      `check that ${mirror} answers (or set KEYHOLE_DEBIAN_MIRROR), then ${CMD} up`,
    );
  }
  // Services must not start from maintainer scripts; provisioning starts them.
  writeFileSync(join(layout.partial, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", {
    mode: 0o755,
  });
  renameSync(layout.partial, layout.root);
  writeFileSync(layout.done, `${new Date().toISOString()} ${mirror}\n`);
  log("debootstrap", `done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function cleanPartial(layout) {
  for (const m of mountsUnder(layout.partial)) run("umount", ["-l", m]);
  if (existsSync(layout.partial)) rmSync(layout.partial, { recursive: true, force: true });
}

function freeBytes(dir) {
  mkdirSync(dir, { recursive: true });
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

const gib = (n) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

/** Copies the provisioning code into the tree, so the tree's node runs exactly this checkout's. */
function copyCode(layout) {
  const dest = join(layout.root, "opt", "keyhole", "lib");
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(LIB).filter((f) => f.endsWith(".mjs") && !f.includes(".test.")))
    copyFileSync(join(LIB, f), join(dest, f));
  return "/opt/keyhole/lib/engine-set-inside.mjs";
}

function insideConfig(layout) {
  return JSON.stringify({
    suite: layout.suite,
    advertise: layout.address,
    cgroupParent: layout.cgroupParent,
    nofile: Math.min(hardLimits().nofile, 1_048_576),
  });
}

async function ensurePackages(layout, log) {
  const script = copyCode(layout);
  copyFileSync("/etc/resolv.conf", join(layout.root, "etc", "resolv.conf"));
  const pid = anchorPid(layout);
  const command = ["node", script, "packages", insideConfig(layout)];
  // Running engines: their namespaces (apt needs the network, and their netns has none,
  // so a running set only detects; installing happens in a fresh mount ns on the host network).
  const argv = pid
    ? [
        "nsenter",
        "-t",
        String(pid),
        "-m",
        "--",
        "/usr/bin/env",
        "-i",
        PATH_ENV,
        "HOME=/root",
        ...command,
      ]
    : enterArgv(layout, command);
  mountRun(layout);
  const r = await stream(argv, (line) => log("inside", line));
  if (r.code !== 0)
    throw new SetupError(
      `provisioning packages inside the ${layout.suite} tree failed (mirror unreachable?):\n${tail(r.stderr, 8)}`,
      `${CMD} up (or ${CMD} remove, then up, to start from scratch)`,
    );
  recordStamp(layout);
}

function mountRun(layout) {
  if (!isMountpoint(layout.run)) {
    const r = run("mount", [
      "-t",
      "tmpfs",
      "-o",
      "mode=755,nosuid,nodev",
      `kh-set-${layout.suite}`,
      layout.run,
    ]);
    if (r.code !== 0)
      throw new SetupError(
        `cannot mount a tmpfs on ${layout.run}: ${r.stderr.trim()}`,
        `${CMD} down`,
      );
  }
  mkdirSync(join(layout.run, "kh"), { recursive: true });
  mkdirSync(join(layout.run, "lock"), { recursive: true });
}

function ensureNetns(layout) {
  if (netnsInode(layout) !== undefined) return false;
  const ip = (...args) => {
    const r = run("ip", args);
    if (r.code !== 0)
      throw new SetupError(`ip ${args.join(" ")}: ${r.stderr.trim()}`, `${CMD} down && ${CMD} up`);
  };
  ip("netns", "add", layout.netns);
  ip("-n", layout.netns, "link", "set", "lo", "up");
  // No dummy driver in this kernel: a veth pair with both ends inside.
  ip("-n", layout.netns, "link", "add", "kh0", "type", "veth", "peer", "name", "kh1");
  ip("-n", layout.netns, "addr", "add", `${layout.address}/24`, "dev", "kh0");
  ip("-n", layout.netns, "link", "set", "kh0", "up");
  ip("-n", layout.netns, "link", "set", "kh1", "up");
  return true;
}

async function ensureEngines(layout, log) {
  const pid = anchorPid(layout);
  if (!pid) {
    // Not running (first time, after `down`, or after a crash): clear leftovers first.
    await stopSet(layout, () => {});
    ensureNetns(layout);
    mountRun(layout);
  }
  const script = copyCode(layout);
  const command = ["node", script, "engines", insideConfig(layout)];
  const argv = pid
    ? [
        "nsenter",
        "-t",
        String(pid),
        "-m",
        "-n",
        "--",
        "/usr/bin/env",
        "-i",
        PATH_ENV,
        "HOME=/root",
        ...command,
      ]
    : enterArgv(layout, command, { netns: true });
  const r = await stream(argv, (line) => log("inside", line));
  if (r.code !== 0) {
    const failure = tail(r.stderr, 10);
    await stopSet(layout, () => {});
    throw new SetupError(
      `starting the ${layout.suite} engines failed (stopped again; the host's engines are untouched):\n${failure}`,
      `see ${layout.logs}/*.log, then ${CMD} up`,
    );
  }
  for (const [name, socket] of [
    ["podman", layout.podmanSocket],
    ["docker", layout.dockerSocket],
  ]) {
    if (!(await pings(socket)))
      throw new SetupError(
        `the ${layout.suite} ${name} API does not answer on ${socket}`,
        `${CMD} down && ${CMD} up`,
      );
  }
}

/** Package versions of the tree, from its dpkg status file (read from the host). */
function installedVersions(layout) {
  const text = readFileSync(join(layout.root, "var/lib/dpkg/status"), "utf8");
  const out = {};
  for (const block of text.split("\n\n")) {
    const name = /^Package: (.+)$/m.exec(block)?.[1];
    const version = /^Version: (.+)$/m.exec(block)?.[1];
    if (name && version && /^Status: .* installed$/m.test(block)) out[name] = version;
  }
  return out;
}

function recordStamp(layout) {
  const all = installedVersions(layout);
  const keys = [
    "podman",
    "runc",
    "docker.io",
    "docker-cli",
    "containerd",
    "docker-compose",
    "nodejs",
    "pass",
    "gnupg",
  ];
  const packages = Object.fromEntries(keys.filter((k) => all[k]).map((k) => [k, all[k]]));
  const stamp = {
    suite: layout.suite,
    debian: readFileSync(join(layout.root, "etc/debian_version"), "utf8").trim(),
    packages,
  };
  writeFileSync(layout.stamp, `${JSON.stringify(stamp, null, 2)}\n`);
}

async function writeInfo(layout, probe, log) {
  const pid = anchorPid(layout);
  const podmanVersion = JSON.parse(
    (await request(layout.podmanSocket, "GET", "/v4.0.0/libpod/version")).body,
  ).Version;
  const dockerVersion = JSON.parse(
    (await request(layout.dockerSocket, "GET", "/version")).body,
  ).Version;
  const podman = {
    socketPath: layout.podmanSocket,
    version: podmanVersion,
    cli: cliPrefix(layout, "podman", pid),
    storage: [
      at(layout.root, "/var/lib/containers/storage", "container"),
      at(layout.root, "/var/lib/containers/storage/secrets", "store"),
      at(layout.root, "/run/containers", "container"),
      at(layout.root, "/run/libpod", "engine"),
    ],
    sharedDir: { path: join(layout.root, "tmp"), enginePath: "/tmp" },
  };
  const docker = {
    socketPath: layout.dockerSocket,
    version: dockerVersion,
    cli: cliPrefix(layout, "docker", pid),
    storage: [
      at(layout.root, "/var/lib/docker", "engine"),
      at(layout.root, "/var/lib/docker/swarm", "store"),
      at(layout.root, "/run/kh/docker", "engine"),
    ],
  };
  if (probe) {
    for (const [name, socket, path] of [
      ["podman", layout.podmanSocket, "/v4.0.0/libpod/images/load"],
      ["docker", layout.dockerSocket, "/v1.41/images/load?quiet=1"],
    ]) {
      const id = await imageId(socket, probe.reference);
      if (id === probe.id) {
        log("probe image", `${layout.suite} ${name} has ${probe.reference}`);
        continue;
      }
      const r = await request(socket, "POST", path, { body: probe.archive, timeoutMs: 120_000 });
      const after = await imageId(socket, probe.reference);
      if (r.status !== 200 || after !== probe.id)
        throw new SetupError(
          `loading the probe image into the ${layout.suite} ${name} failed (HTTP ${r.status}, id ${after ?? "none"}, expected ${probe.id}): ${r.body.slice(0, 300)}`,
          `${CMD} down && ${CMD} up`,
        );
      log(
        "probe image",
        `${layout.suite} ${name} loaded ${probe.reference} (${probe.id.slice(0, 19)})`,
      );
    }
  }
  const stamp = existsSync(layout.stamp) ? JSON.parse(readFileSync(layout.stamp, "utf8")) : {};
  return {
    suite: layout.suite,
    debian: stamp.debian,
    netns: layout.netns,
    pid,
    podman,
    docker,
    packages: stamp.packages,
    probe: probe ? { reference: probe.reference, id: probe.id } : undefined,
  };
}

/** A storage entry for EngineInfo.storage: the host path of `inside`, and `inside` itself. */
function at(root, inside, kind) {
  return { path: join(root, inside), kind, enginePath: inside };
}

async function imageId(socket, reference) {
  const r = await request(socket, "GET", `/images/${encodeURIComponent(reference)}/json`);
  if (r.status !== 200) return undefined;
  const id = JSON.parse(r.body).Id;
  return id.startsWith("sha256:") ? id : `sha256:${id}`;
}

/**
 * Stops the set: SIGTERM to its daemons, then SIGKILL to whatever is left in its netns, its
 * mount namespace and its containers' cgroups; removes those cgroups and the netns, unmounts
 * run/. Works without the daemons (after a crash) and is safe to call twice.
 */
export async function stopSet(layout, log = () => {}) {
  const netIno = netnsInode(layout);
  const daemons = [readPid(layout.dockerPid), readPid(layout.podmanPid)].filter(
    (pid) => pid && netIno !== undefined && inNetns(pid, layout),
  );
  const mntInos = new Set(daemons.map((pid) => nsInode(pid, "mnt")).filter(Boolean));
  for (const pid of daemons) signal(pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && daemons.some((pid) => existsSync(`/proc/${pid}`)))
    await new Promise((r) => setTimeout(r, 200));
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = setProcesses(layout, netIno, mntInos);
    if (pids.length === 0) break;
    for (const pid of pids) signal(pid, "SIGKILL");
    killed += pids.length;
    await new Promise((r) => setTimeout(r, 200));
  }
  const cgroups = removeCgroups(layout);
  if (netIno !== undefined) run("ip", ["netns", "del", layout.netns]);
  for (const m of mountsUnder(layout.root)) run("umount", ["-l", m]);
  if (daemons.length || killed || cgroups || netIno !== undefined)
    log(
      "down",
      `${layout.suite}: stopped ${daemons.length} daemon(s), killed ${killed} leftover process(es), removed ${cgroups} cgroup(s)${netIno !== undefined ? ` and netns ${layout.netns}` : ""}`,
    );
  else log("down", `${layout.suite}: not running`);
}

function nsInode(pid, ns) {
  try {
    return statSync(`/proc/${pid}/ns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {}
}

/** Pids in the set: its netns, its daemons' mount ns, or its containers' cgroups. */
function setProcesses(layout, netIno, mntInos) {
  const out = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (
      (netIno !== undefined && nsInode(pid, "net") === netIno) ||
      mntInos.has(nsInode(pid, "mnt"))
    )
      out.add(pid);
  }
  for (const dir of containerCgroups(layout)) {
    try {
      for (const p of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n"))
        if (p) out.add(Number(p));
    } catch {}
  }
  return [...out];
}

/** The cgroup dirs of the set's containers: dockerd's cgroup parent and Podman's libpod-<id> of the set's own container ids. */
function containerCgroups(layout) {
  const ids = new Set();
  try {
    for (const id of readdirSync(
      join(layout.root, "var/lib/containers/storage/overlay-containers"),
    ))
      ids.add(id);
  } catch {}
  const out = [];
  let controllers = [];
  try {
    controllers = readdirSync("/sys/fs/cgroup");
  } catch {}
  for (const c of controllers) {
    const base = join("/sys/fs/cgroup", c);
    const docker = join(base, layout.cgroupParent);
    if (existsSync(docker)) out.push(...walk(docker));
    for (const id of ids) {
      for (const parent of ["libpod_parent", ""]) {
        for (const name of [`libpod-${id}`, `libpod-conmon-${id}`]) {
          const d = join(base, parent, name);
          if (existsSync(d)) out.push(...walk(d));
        }
      }
    }
  }
  return out;
}

/** `dir` and every cgroup below it, deepest first. */
function walk(dir) {
  const out = [];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) out.push(...walk(join(dir, e.name)));
  } catch {}
  out.push(dir);
  return out;
}

function removeCgroups(layout) {
  let n = 0;
  for (const dir of containerCgroups(layout)) {
    try {
      rmdirSync(dir);
      n++;
    } catch {}
  }
  return n;
}

/** Stops the set (see {@link stopSet}); safe twice and after a crash. */
export async function downSet({ suite = otherSuite(), log = () => {} } = {}) {
  if (!isRoot()) throw new SetupError("engine sets need root", `sudo ${CMD} down`);
  const layout = setLayout(suite);
  await withLock(layout, () => stopSet(layout, log));
  rmSync(layout.info, { force: true });
}

/** Stops the set and deletes its tree and state (never crossing a mount). */
export async function removeSet({ suite = otherSuite(), log = () => {} } = {}) {
  await downSet({ suite, log });
  const layout = setLayout(suite);
  const left = mountsUnder(layout.dir);
  if (left.length > 0)
    throw new SetupError(
      `still mounted under ${layout.dir}: ${left.join(" ")}; not deleting`,
      `umount -l ${left.join(" ")}`,
    );
  const r = run("rm", ["-rf", "--one-file-system", layout.dir], { timeout: 600_000 });
  if (r.code !== 0)
    throw new SetupError(`rm -rf ${layout.dir}: ${r.stderr.trim()}`, `rm -rf ${layout.dir}`);
  log("remove", `${layout.suite}: deleted ${layout.dir}`);
}

/**
 * What `status` and `provision --check` report: `{ state: ready|missing|broken, detail, fix }`,
 * changing nothing. `ready` means both APIs answer and set.json describes them.
 */
export async function setStatus(suite = otherSuite()) {
  const layout = setLayout(suite);
  if (!existsSync(layout.done))
    return {
      state: "missing",
      detail: `not provisioned (${layout.root} absent)`,
      fix: `${CMD} up`,
    };
  const stamp = existsSync(layout.stamp) ? JSON.parse(readFileSync(layout.stamp, "utf8")) : {};
  const what = Object.entries(stamp.packages ?? {})
    .filter(([k]) => ["podman", "docker.io", "docker-compose"].includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const podman = await pings(layout.podmanSocket);
  const docker = await pings(layout.dockerSocket);
  if (!podman && !docker)
    return {
      state: "missing",
      detail: `debian ${stamp.debian ?? "?"} tree cached (${what}); not running`,
      fix: `${CMD} up`,
    };
  if (!podman || !docker || !existsSync(layout.info))
    return {
      state: "broken",
      detail: `podman ${podman ? "answers" : "does not answer"}, dockerd ${docker ? "answers" : "does not answer"}`,
      fix: `${CMD} down && ${CMD} up`,
    };
  const info = JSON.parse(readFileSync(layout.info, "utf8"));
  return {
    state: "ready",
    detail: `debian ${info.debian}: podman ${info.podman.version} (${layout.podmanSocket}), docker ${info.docker.version} (${layout.dockerSocket}), netns ${layout.netns}`,
    info,
  };
}
