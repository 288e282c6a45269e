#!/usr/bin/env node
// A real multi-node Docker Swarm on this machine, for keyhole's cluster checks and matrix column.
//
//   node scripts/cluster.mjs up [--nodes 3] [--managers 1|3] [--name default]
//       one dockerd per network namespace, probe image on every node, swarm formed; prints the
//       node map's path (JSON: manager endpoint, node → endpoint) and exits 0 when all are Ready
//   node scripts/cluster.mjs down [--name default | --all]
//       removes processes, namespaces, mounts, cgroups and data; safe twice and after SIGKILL
//   node scripts/cluster.mjs status [--name default]   what exists now; exit 0 only when up
//   node scripts/cluster.mjs kill <node> / start <node>  a node loss and its return (checks)
//
// Needs root (namespaces, cgroups) and the host's /usr/sbin/dockerd. The host's own dockerd,
// docker0, iptables and swarm are never touched.
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  clusterDown,
  clusterLeftovers,
  clusterNamesPresent,
  clusterUp,
  isClean,
  killNode,
  readClusterMap,
  restartNode,
} from "./lib/cluster.mjs";
import { isRoot } from "./lib/exec.mjs";
import { say } from "./lib/report.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const log = (step, text) => say("cluster", step, text);

function option(argv, flag, fallback) {
  const i = argv.indexOf(flag);
  if (i < 0) return fallback;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
  return v;
}

async function probeArchive() {
  const dist = join(ROOT, "packages", "probe", "dist", "index.js");
  try {
    const probe = await import(pathToFileURL(dist).href);
    return probe.buildProbeArchive();
  } catch (error) {
    throw new Error(
      `@keyhole/probe is not built (${error.message}); run \`node scripts/setup.mjs\` first`,
    );
  }
}

async function main(argv) {
  // Options may come before the command: node-loss checks append `kill <node>` to a prefix
  // that already holds `--name <name>`.
  const valued = new Set(["--name", "--nodes", "--managers"]);
  const positional = argv.filter((a, i) => !a.startsWith("--") && !valued.has(argv[i - 1]));
  const command = positional[0] ?? "help";
  const rest = argv;
  const name = option(rest, "--name", "default");
  if (command === "help" || command === "--help") {
    process.stdout.write(
      "usage: node scripts/cluster.mjs up [--nodes N] [--managers M] [--name X] | down [--name X | --all] | status [--name X] | kill <node> | start <node>\n",
    );
    return 0;
  }
  if (!isRoot()) throw new Error("the cluster needs root (network namespaces, cgroups, dockerd)");
  if (command === "up") {
    const map = await clusterUp({
      name,
      nodes: Number(option(rest, "--nodes", "3")),
      managers: Number(option(rest, "--managers", "1")),
      probeArchive: await probeArchive(),
      log,
    });
    for (const n of map.nodes) log("node", `${n.name} ${n.role} ${n.nodeId} ${n.endpoint}`);
    process.stdout.write(
      `${JSON.stringify({ map: `cluster-${name}.json`, manager: map.manager })}\n`,
    );
    return 0;
  }
  if (command === "down") {
    const names = rest.includes("--all") ? clusterNamesPresent() : [name];
    let clean = true;
    for (const n of names) {
      const { after } = clusterDown({ name: n, log });
      if (!isClean(after)) {
        clean = false;
        process.stderr.write(`[cluster] ${n}: left behind ${JSON.stringify(after)}\n`);
      }
    }
    if (names.length === 0) log("down", "no cluster on this machine");
    return clean ? 0 : 1;
  }
  if (command === "status") {
    const map = readClusterMap(name);
    const left = clusterLeftovers(name);
    process.stdout.write(`${JSON.stringify({ map: map ?? null, present: left }, null, 2)}\n`);
    return map && left.netns.length > 0 ? 0 : 1;
  }
  if (command === "kill" || command === "start") {
    const node = positional[1];
    if (!node || !/^n\d$/.test(node)) throw new Error(`${command} needs a node name (n1, n2, …)`);
    if (command === "kill")
      log("kill", `${node}: SIGKILL to ${killNode(name, node).length} process(es)`);
    else log("start", `${node}: dockerd pid ${await restartNode(name, node)}`);
    return 0;
  }
  throw new Error(`unknown command ${command}; see \`node scripts/cluster.mjs help\``);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`[cluster] failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
