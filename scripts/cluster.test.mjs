// Real-engine tests of scripts/cluster.mjs: a 3-node swarm comes up, runs a secret-holding task
// on a worker, goes down without a trace (also after SIGKILL of everything), and the host's own
// dockerd, docker0, iptables and swarm are exactly as before. A cluster of its own name, so it
// never meets the one the docker-swarm tests bring up.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { clusterLeftovers, isClean, nodeDocker, readClusterMap } from "./lib/cluster.mjs";
import { run } from "./lib/exec.mjs";

const CLUSTER = fileURLToPath(new URL("./cluster.mjs", import.meta.url));
// Unique per process: helpers and CI runs on one machine must never take down each other's cluster.
const NAME = `ct${process.pid}`;
const exec = promisify(execFile);

async function cluster(...args) {
  try {
    const r = await exec(process.execPath, [CLUSTER, ...args, "--name", NAME], {
      timeout: 240_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? "" };
  }
}

/** The iptables rules a cluster could touch: Docker's, and any naming its subnet or links. */
function rules(command) {
  const r = run(command, [], { timeout: 30_000 });
  return `${r.code}\n${r.stdout
    .replace(/\[\d+:\d+\]/g, "")
    .split("\n")
    .filter((l) => /DOCKER|10\.231\.|br0|kh-cl|-[io] p\d/.test(l))
    .join("\n")}`;
}

/** What of the host's own engine and network a cluster must never change. */
function hostSnapshot() {
  const out = (cmd, args) => {
    const r = run(cmd, args, { timeout: 30_000 });
    return `${r.code}\n${r.stdout.replace(/^#.*$/gm, "")}`;
  };
  return {
    dockerdPid: readFileSync("/var/run/docker.pid", "utf8").trim(),
    swarm: out("/usr/bin/docker", [
      "info",
      "--format",
      "{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.Cluster.ID}} {{.Swarm.NodeAddr}}",
    ]),
    swarmNodes: out("/usr/bin/docker", ["node", "ls", "--format", "{{.ID}} {{.Status}}"]),
    docker0: out("ip", ["-o", "addr", "show", "dev", "docker0"]),
    // Other tests and helpers add and remove their own links and routes on this shared host, so
    // the host's network is checked for what a cluster could leak into it: its veth peers
    // (p<i>), its bridge (br0) and its subnet; plus docker0's address.
    ours: out("ip", ["-o", "link", "show"])
      .split("\n")
      .filter((l) => /^\d+: (p\d+|br0)[@:]/.test(l))
      .concat(
        out("ip", ["route", "show", "table", "all"])
          .split("\n")
          .filter((l) => l.includes("10.231.")),
      )
      .join("\n"),
    // Rules without packet counters. Only Docker's chains and anything naming the cluster's
    // subnet or links: Podman's netavark chains (other tests' containers) come and go.
    iptables: rules("iptables-save"),
    ip6tables: rules("ip6tables-save"),
  };
}

const clusterPids = () => clusterLeftovers(NAME).pids;

describe("scripts/cluster.mjs", () => {
  const before = hostSnapshot();
  afterAll(async () => {
    await cluster("down");
  });

  it("brings up 1 manager + 2 workers with the probe image on each, runs a secret on a worker, and leaves the host untouched", async () => {
    const up = await cluster("up");
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    const map = readClusterMap(NAME);
    // The names the host snapshot looks for are the ones the cluster really uses (inside its
    // bridge namespace), so a leak into the host namespace would be seen.
    const inside = run("ip", ["-n", `kh-cl-${NAME}-br`, "-o", "link", "show"]).stdout;
    expect(inside.split("\n").filter((l) => /^\d+: (p\d+|br0)[@:]/.test(l))).toHaveLength(4);
    expect(map.nodes.map((n) => `${n.name} ${n.role}`)).toEqual([
      "n1 manager",
      "n2 worker",
      "n3 worker",
    ]);
    const hostProbe = run("/usr/bin/docker", [
      "image",
      "ls",
      "--no-trunc",
      "--format",
      "{{.ID}}",
      "localhost/keyhole-probe",
    ]).stdout.trim();
    expect(hostProbe).toMatch(/^sha256:/);
    const nodes = map.nodes.map((n) => ({ ...n, dir: n.dataRoot.replace(/\/data$/, "") }));
    for (const n of nodes) {
      const ids = nodeDocker(n, ["image", "ls", "--no-trunc", "--format", "{{.ID}}"]);
      expect(ids.stdout.trim().split("\n")).toContain(hostProbe.split("\n")[0]);
    }
    const ls = nodeDocker(nodes[0], ["node", "ls", "--format", "{{.ID}} {{.Status}}"]);
    expect(ls.stdout.trim().split("\n").sort()).toEqual(
      map.nodes.map((n) => `${n.nodeId} Ready`).sort(),
    );
    // A secret-holding task pinned to n3 runs there (the value goes in on stdin).
    const created = await new Promise((resolve) => {
      const child = execFile(
        "/usr/bin/docker",
        ["-H", map.manager, "secret", "create", "kh-ct", "-"],
        (e) => resolve(e ? e.message : "ok"),
      );
      child.stdin.end("cluster-test-value");
    });
    expect(created).toBe("ok");
    const svc = nodeDocker(nodes[0], [
      "service",
      "create",
      "-q",
      "--detach=false",
      "--name",
      "kh-ct",
      "--secret",
      "kh-ct",
      "--constraint",
      `node.id==${map.nodes[2].nodeId}`,
      hostProbe.split("\n")[0],
      "sleep",
      "300",
    ]);
    expect(svc.code).toBe(0);
    const task = nodeDocker(nodes[2], [
      "ps",
      "-q",
      "--filter",
      "label=com.docker.swarm.service.name=kh-ct",
    ]);
    expect(task.stdout.trim()).not.toBe("");
    const cat = nodeDocker(nodes[2], ["exec", task.stdout.trim(), "cat", "/run/secrets/kh-ct"]);
    expect(cat.stdout).toBe("cluster-test-value");

    expect(hostSnapshot()).toEqual(before);
    const down = await cluster("down");
    expect(down.code).toBe(0);
    expect(clusterLeftovers(NAME)).toEqual({
      netns: [],
      pids: [],
      mounts: [],
      cgroups: [],
      dir: false,
      map: false,
    });
    expect((await cluster("down")).code).toBe(0);
    expect(hostSnapshot()).toEqual(before);
  });

  it("refuses a second up of the same cluster, and down cleans up after every node process was SIGKILLed", async () => {
    await cluster("down");
    const up = await cluster("up", "--nodes", "2");
    expect(up.code, up.stderr).toBe(0);
    const again = await cluster("up", "--nodes", "2");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `cluster ${NAME} exists .*run \`node scripts/cluster\\.mjs down --name ${NAME}\` first`,
      ),
    );
    const pids = clusterPids();
    expect(pids.length, JSON.stringify(pids)).toBeGreaterThanOrEqual(2); // 2 dockerd (+ containerd)
    for (const p of pids) {
      // containerd may already be gone with its dockerd: a vanished pid is what we wanted.
      try {
        process.kill(p, "SIGKILL");
      } catch (error) {
        if (error.code !== "ESRCH") throw error;
      }
    }
    expect(isClean(clusterLeftovers(NAME))).toBe(false);
    const down = await cluster("down");
    expect(down.code, `${down.stdout}${down.stderr}`).toBe(0);
    expect(isClean(clusterLeftovers(NAME))).toBe(true);
    expect(hostSnapshot()).toEqual(before);
  });
});
