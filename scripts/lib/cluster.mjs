// A multi-node Docker Swarm on one machine: one dockerd per network namespace, joined over a
// bridge in a namespace of its own (recipe and pitfalls: /work/shared/research/multinode-swarm.md).
// Everything it creates is named for the cluster, so `down` finds it again after a crash:
//   network namespaces  kh-cl-<name>-br (the bridge), kh-cl-<name>-n<i> (one per node)
//   node directories    /var/tmp/keyhole-cl/<name>/n<i>/{data,exec,docker.sock,dockerd.log,…}
//   cgroups             /sys/fs/cgroup/<controller>/kh-cl-<name>-n<i>
//   the node map        <keyhole state dir>/cluster-<name>.json
// Addresses (10.231.0.0/24) exist only inside those namespaces; nothing routes off the machine.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { dockerClient } from "./docker.mjs";
import { run, tail } from "./exec.mjs";
import { keyholeStateDir } from "./state-dir.mjs";

/** Where node directories live. Not under the state dir: hygiene scans walk that. */
export const CLUSTER_ROOT = "/var/tmp/keyhole-cl";
/** Every namespace, cgroup and directory of a cluster starts with this. */
export const NETNS_PREFIX = "kh-cl-";
const SUBNET = "10.231.0";
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Names of one cluster's objects. */
export function clusterNames(name = "default") {
  if (!/^[a-z0-9]{1,12}$/.test(name))
    throw new Error(`cluster name ${JSON.stringify(name)}: use 1-12 of [a-z0-9]`);
  const prefix = `${NETNS_PREFIX}${name}-`;
  return {
    name,
    prefix,
    bridgeNs: `${prefix}br`,
    dir: join(CLUSTER_ROOT, name),
    mapFile: join(keyholeStateDir(), `cluster-${name}.json`),
    node: (i) => ({
      name: `n${i}`,
      netns: `${prefix}n${i}`,
      address: `${SUBNET}.${10 + i}`,
      dir: join(CLUSTER_ROOT, name, `n${i}`),
      cgroup: `/${prefix}n${i}`,
    }),
  };
}

function must(r, what) {
  if (r.code !== 0) throw new Error(`${what} failed: ${tail(r.stderr || r.stdout, 3)}`);
  return r.stdout;
}

function ip(args) {
  return must(run("ip", args, { timeout: 20_000 }), `ip ${args.join(" ")}`);
}

/** The docker CLI against one node's socket. */
export function nodeDocker(node, args, timeout = 60_000) {
  return run(dockerClient(), ["-H", `unix://${join(node.dir, "docker.sock")}`, ...args], {
    timeout,
  });
}

/** The dockerd argv of a node (also how `start` brings a stopped node back). */
export function dockerdArgs(node) {
  return [
    `--net=/run/netns/${node.netns}`,
    "--",
    "/usr/sbin/dockerd",
    "--config-file",
    join(node.dir, "daemon.json"),
    "--data-root",
    join(node.dir, "data"),
    "--exec-root",
    join(node.dir, "exec"),
    "--pidfile",
    join(node.dir, "dockerd.pid"),
    "-H",
    `unix://${join(node.dir, "docker.sock")}`,
    "--cgroup-parent",
    node.cgroup,
    // The node's own namespace has no route anywhere; no NAT, no docker0, no rules to write.
    "--iptables=false",
    "--ip-masq=false",
    "--bridge=none",
    "--label",
    "keyhole=true",
  ];
}

/**
 * Starts one node's dockerd with `nsenter --net=` only: it stays in the host's mount
 * namespace, so the cgroup v1 mounts stay visible (`ip netns exec` remounts /sys and dockerd
 * then fails with "Devices cgroup isn't mounted") and its tmpfs mounts are visible to host
 * checks. Returns the pid once the API answers.
 */
export async function startNode(node, timeoutMs = 60_000) {
  mkdirSync(join(node.dir, "data"), { recursive: true });
  mkdirSync(join(node.dir, "exec"), { recursive: true });
  // An empty config of its own: /etc/docker/daemon.json belongs to the host's dockerd.
  if (!existsSync(join(node.dir, "daemon.json")))
    writeFileSync(join(node.dir, "daemon.json"), "{}\n");
  const log = join(node.dir, "dockerd.log");
  const fd = openSync(log, "a");
  let child;
  try {
    child = spawn("/usr/bin/nsenter", dockerdArgs(node), {
      cwd: "/",
      detached: true,
      stdio: ["ignore", fd, fd],
      // Tasks use the node's local image instead of trying a registry first (there is none).
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: "1",
      },
    });
  } finally {
    closeSync(fd);
  }
  let exited;
  child.once("exit", (code, signal) => {
    exited = signal ?? `code ${code}`;
  });
  child.once("error", (e) => {
    exited = e.message;
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    if (nodeDocker(node, ["version", "--format", "{{.Server.Version}}"], 10_000).code === 0)
      return child.pid;
    await new Promise((r) => setTimeout(r, 150));
  }
  let lines = "";
  try {
    lines = tail(readFileSync(log, "utf8"), 6);
  } catch {}
  throw new Error(
    `${node.name}: dockerd ${exited ? `exited (${exited})` : `did not answer within ${timeoutMs / 1000} s`}; see ${log}\n${lines}`,
  );
}

/** The pid in a node's pidfile when that process is still a dockerd. */
export function nodePid(node) {
  try {
    const pid = Number(readFileSync(join(node.dir, "dockerd.pid"), "utf8").trim());
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "dockerd" && running(pid)
      ? pid
      : undefined;
  } catch {
    return undefined;
  }
}

function netnsList() {
  const r = run("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** The network: a bridge namespace and one veth-connected namespace per node. */
function createNetwork(names, count) {
  ip(["netns", "add", names.bridgeNs]);
  ip(["-n", names.bridgeNs, "link", "add", "br0", "type", "bridge"]);
  ip(["-n", names.bridgeNs, "link", "set", "br0", "up"]);
  ip(["-n", names.bridgeNs, "link", "set", "lo", "up"]);
  for (let i = 1; i <= count; i++) {
    const node = names.node(i);
    ip(["netns", "add", node.netns]);
    ip([
      "-n",
      node.netns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      `p${i}`,
      "netns",
      names.bridgeNs,
    ]);
    ip(["-n", names.bridgeNs, "link", "set", `p${i}`, "master", "br0", "up"]);
    ip(["-n", node.netns, "addr", "add", `${node.address}/24`, "dev", "eth0"]);
    ip(["-n", node.netns, "link", "set", "eth0", "up"]);
    ip(["-n", node.netns, "link", "set", "lo", "up"]);
  }
}

function swarmNodeId(node) {
  return must(
    nodeDocker(node, ["info", "--format", "{{.Swarm.NodeID}}"]),
    `${node.name}: docker info`,
  ).trim();
}

/**
 * Brings up a cluster of `nodes` dockerds, the first `managers` of them managers, loads the
 * probe archive on every node and writes the node map. Refuses when a cluster of that name
 * exists (run `down` first). `log(step, text)` reports progress. Returns the map.
 */
export async function clusterUp({
  name = "default",
  nodes = 3,
  managers = 1,
  probeArchive,
  heartbeat = "1s",
  log = () => {},
}) {
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 9) throw new Error("--nodes: 2 to 9");
  if (!Number.isInteger(managers) || managers < 1 || managers > nodes)
    throw new Error("--managers: 1 to --nodes");
  const names = clusterNames(name);
  const started = Date.now();
  const leftovers = netnsList().filter((n) => n.startsWith(names.prefix));
  if (leftovers.length > 0 || existsSync(names.dir)) {
    throw new Error(
      `cluster ${name} exists (${leftovers.join(" ") || names.dir}); run \`node scripts/cluster.mjs down${name === "default" ? "" : ` --name ${name}`}\` first`,
    );
  }
  const list = Array.from({ length: nodes }, (_, k) => names.node(k + 1));
  try {
    createNetwork(names, nodes);
    log("network", `${names.bridgeNs} + ${list.map((n) => `${n.netns} ${n.address}`).join(", ")}`);
    const pids = await Promise.all(list.map((n) => startNode(n)));
    log("dockerd", `${nodes} up (pids ${pids.join(" ")}) in ${Date.now() - started} ms`);
    // The same archive as the host's probe image, so the image id is the same on every node.
    const archive = join(names.dir, "probe.tar");
    writeFileSync(archive, probeArchive.archive);
    for (const n of list)
      must(nodeDocker(n, ["load", "-q", "-i", archive]), `${n.name}: docker load`);
    rmSync(archive, { force: true });
    const [first, ...rest] = list;
    must(
      nodeDocker(first, [
        "swarm",
        "init",
        "--advertise-addr",
        first.address,
        "--listen-addr",
        `${first.address}:2377`,
        "--dispatcher-heartbeat",
        heartbeat,
      ]),
      `${first.name}: swarm init`,
    );
    const token = (role) =>
      must(nodeDocker(first, ["swarm", "join-token", "-q", role]), "swarm join-token").trim();
    const tokens = { manager: token("manager"), worker: token("worker") };
    for (const [k, n] of rest.entries()) {
      const role = k + 1 < managers ? "manager" : "worker";
      // The token goes in argv of a short-lived client: it is a join credential of a throwaway
      // cluster on addresses that exist only in these namespaces, never a secret under test.
      must(
        nodeDocker(n, [
          "swarm",
          "join",
          "--token",
          tokens[role],
          "--advertise-addr",
          n.address,
          "--listen-addr",
          `${n.address}:2377`,
          `${first.address}:2377`,
        ]),
        `${n.name}: swarm join`,
      );
    }
    const map = {
      name,
      createdAt: new Date().toISOString(),
      manager: `unix://${join(first.dir, "docker.sock")}`,
      control: [
        process.execPath,
        new URL("../cluster.mjs", import.meta.url).pathname,
        "--name",
        name,
      ],
      nodes: list.map((n, k) => ({
        name: n.name,
        role: k < managers ? "manager" : "worker",
        nodeId: swarmNodeId(n),
        endpoint: `unix://${join(n.dir, "docker.sock")}`,
        address: n.address,
        netns: n.netns,
        dataRoot: join(n.dir, "data"),
        execRoot: join(n.dir, "exec"),
      })),
    };
    await waitAllReady(first, nodes);
    mkdirSync(keyholeStateDir(), { recursive: true });
    writeFileSync(names.mapFile, `${JSON.stringify(map, null, 2)}\n`);
    log(
      "swarm",
      `${managers} manager(s), ${nodes - managers} worker(s) ready in ${Date.now() - started} ms; map: ${names.mapFile}`,
    );
    return map;
  } catch (error) {
    // Half a cluster is worse than none: take it all down and say why.
    clusterDown({ name });
    throw error;
  }
}

async function waitAllReady(manager, count, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const r = nodeDocker(manager, ["node", "ls", "--format", "{{.Status}} {{.Availability}}"]);
    last = r.stdout.trim();
    const lines = last.split("\n").filter((l) => l === "Ready Active");
    if (r.code === 0 && lines.length === count) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`nodes not all Ready within ${timeoutMs / 1000} s: ${last}`);
}

/** The node map `up` wrote, or undefined. */
export function readClusterMap(name = "default") {
  try {
    return JSON.parse(readFileSync(clusterNames(name).mapFile, "utf8"));
  } catch {
    return undefined;
  }
}

/** Processes whose argv mentions `needle` (dockerd, containerd, shims of a node). */
function pidsMentioning(needle) {
  const out = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (argv.includes(needle)) out.push(Number(p));
    } catch {}
  }
  return out.filter((p) => p !== process.pid);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cgroupDirs(prefix) {
  const dirs = [];
  let controllers = [];
  try {
    controllers = readdirSync(CGROUP_ROOT);
  } catch {}
  for (const c of controllers) {
    let entries = [];
    try {
      entries = readdirSync(join(CGROUP_ROOT, c));
    } catch {}
    for (const e of entries) if (e.startsWith(prefix)) dirs.push(join(CGROUP_ROOT, c, e));
  }
  return dirs;
}

/** Every pid in a cgroup tree. */
function cgroupPids(dir) {
  const pids = [];
  const walk = (d) => {
    try {
      for (const l of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n"))
        if (l.trim()) pids.push(Number(l));
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
    } catch {}
  };
  walk(dir);
  return pids;
}

function rmdirTree(dir) {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) rmdirTree(join(dir, e.name));
    rmdirSync(dir);
  } catch {}
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir) {
  const points = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p) => p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, " "));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** What of a cluster exists now (namespaces, processes, mounts, cgroups, files, map). */
export function clusterLeftovers(name = "default") {
  const names = clusterNames(name);
  return {
    netns: netnsList().filter((n) => n.startsWith(names.prefix)),
    pids: pidsMentioning(`${names.dir}/`),
    mounts: existsSync("/proc/self/mountinfo") ? mountsUnder(names.dir) : [],
    cgroups: cgroupDirs(names.prefix),
    dir: existsSync(names.dir),
    map: existsSync(names.mapFile),
  };
}

/** Names of every cluster that has something on this machine. */
export function clusterNamesPresent() {
  const found = new Set();
  for (const n of netnsList()) {
    const m = n.match(/^kh-cl-([a-z0-9]+)-/);
    if (m) found.add(m[1]);
  }
  try {
    for (const d of readdirSync(CLUSTER_ROOT)) if (/^[a-z0-9]{1,12}$/.test(d)) found.add(d);
  } catch {}
  return [...found];
}

/**
 * Tears a cluster down: stops every node's dockerd (TERM, then KILL), its containerd, shims and
 * task processes, unmounts, removes cgroups, namespaces, the node directories and the map. Safe
 * on a cluster that is half there (after SIGKILL) or gone. Returns what it removed.
 */
export function clusterDown({ name = "default", log = () => {} } = {}) {
  const names = clusterNames(name);
  const before = clusterLeftovers(name);
  // Task processes first (by cgroup), then dockerd and everything started from the node dirs.
  const sigAll = (sig) => {
    for (const d of cgroupDirs(names.prefix))
      for (const p of cgroupPids(d)) {
        try {
          process.kill(p, sig);
        } catch {}
      }
    for (const p of pidsMentioning(`${names.dir}/`)) {
      try {
        process.kill(p, sig);
      } catch {}
    }
  };
  // Tasks die at once (a stop would wait out each task's grace period); dockerd and containerd
  // get TERM first so they unmount what they can, then KILL.
  for (const d of cgroupDirs(names.prefix))
    for (const p of cgroupPids(d)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  sigAll("SIGTERM");
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && pidsMentioning(`${names.dir}/`).some(alive)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  sigAll("SIGKILL");
  for (let k = 0; k < 20 && pidsMentioning(`${names.dir}/`).length > 0; k++)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  for (const m of mountsUnder(names.dir)) run("umount", ["-l", m], { timeout: 20_000 });
  for (let k = 0; k < 20; k++) {
    const dirs = cgroupDirs(names.prefix);
    if (dirs.length === 0) break;
    for (const d of dirs) {
      for (const p of cgroupPids(d)) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      rmdirTree(d);
    }
    if (cgroupDirs(names.prefix).length > 0)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  for (const ns of netnsList().filter((n) => n.startsWith(names.prefix)))
    run("ip", ["netns", "del", ns]);
  rmSync(names.dir, { recursive: true, force: true });
  rmSync(names.mapFile, { force: true });
  try {
    if (readdirSync(CLUSTER_ROOT).length === 0) rmdirSync(CLUSTER_ROOT);
  } catch {}
  const after = clusterLeftovers(name);
  log(
    "down",
    `${name}: stopped ${before.pids.length} process(es), ${before.mounts.length} mount(s), ${before.cgroups.length} cgroup(s), ${before.netns.length} namespace(s)`,
  );
  return { before, after };
}

/** True when nothing of the cluster is left. */
export function isClean(leftovers) {
  return (
    leftovers.netns.length === 0 &&
    leftovers.pids.length === 0 &&
    leftovers.mounts.length === 0 &&
    leftovers.cgroups.length === 0 &&
    !leftovers.dir &&
    !leftovers.map
  );
}

/** Kills one node's dockerd with SIGKILL (a node loss); its containerd and tasks die with it. */
export function killNode(name, nodeName) {
  const names = clusterNames(name);
  const i = Number(nodeName.replace(/^n/, ""));
  const node = names.node(i);
  const killed = [];
  for (const p of pidsMentioning(`${node.dir}/`)) {
    try {
      process.kill(p, "SIGKILL");
      killed.push(p);
    } catch {}
  }
  for (const p of cgroupDirs(node.cgroup.slice(1)).flatMap(cgroupPids)) {
    try {
      process.kill(p, "SIGKILL");
      killed.push(p);
    } catch {}
  }
  // SIGKILL is delivered asynchronously: return once every one of them is gone (or a zombie).
  for (let k = 0; k < 100 && killed.some(running); k++)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  return killed;
}

function running(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Starts a stopped node again (same data root: it rejoins the swarm). */
export async function restartNode(name, nodeName) {
  const names = clusterNames(name);
  const node = names.node(Number(nodeName.replace(/^n/, "")));
  if (nodePid(node)) throw new Error(`${nodeName}: dockerd is running`);
  // A SIGKILLed dockerd leaves a stale pidfile and socket; dockerd refuses neither, but be sure.
  rmSync(join(node.dir, "dockerd.pid"), { force: true });
  // dockerd 20.10 trusts containerd's pidfile while that pid exists, and a killed containerd
  // can linger as a zombie until init reaps it: dockerd then waits for a socket nobody serves
  // ("containerd is still running", then "timeout waiting for containerd to start").
  rmSync(join(node.dir, "exec", "containerd", "containerd.pid"), { force: true });
  return startNode(node);
}
