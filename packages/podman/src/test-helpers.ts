// Test helpers (not shipped: tsconfig.build.json excludes src/**/test-*.ts).
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { podmanEnv } from "@keyhole/core";

const execFileP = promisify(execFile);

/** Runs the podman CLI directly (bypassing the adapter) with keyhole's CONTAINERS_CONF. */
export async function podmanCli(args: string[]): Promise<string> {
  const { stdout } = await execFileP("podman", args, { env: podmanEnv() });
  return stdout;
}

/** Names of containers (any state) carrying `keyhole.run=<runId>`, asked of the podman CLI. */
export async function containersOfRun(runId: string): Promise<string[]> {
  const out = await podmanCli([
    "ps",
    "-a",
    "--filter",
    `label=keyhole.run=${runId}`,
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").filter(Boolean);
}

/**
 * Names of secrets carrying `keyhole.run=<runId>`, asked of the podman CLI. Podman 4.3's
 * `secret ls` can neither filter nor print labels, so every secret is inspected.
 */
export async function secretsOfRun(runId: string): Promise<string[]> {
  const ids = (await podmanCli(["secret", "ls", "--quiet"])).split("\n").filter(Boolean);
  const found: string[] = [];
  for (const id of ids) {
    let out: string;
    try {
      out = await podmanCli([
        "secret",
        "inspect",
        id,
        "--format",
        "{{.Spec.Name}} {{.Spec.Labels}}",
      ]);
    } catch {
      continue; // removed by a concurrent test meanwhile
    }
    if (out.includes(`keyhole.run:${runId}`)) found.push(out.split(" ")[0] ?? id);
  }
  return found;
}

/** A scanner of every host process's argv and environment; see {@link startProcScanner}. */
export interface ProcScanner {
  /** Stops scanning; returns how many full passes over /proc ran and where needles were found. */
  stop(): Promise<{ rounds: number; hits: Array<{ needle: number; where: string }> }>;
}

// Runs in its own process: reads hex needles (one line, comma-separated) from stdin, so no
// needle is ever in its own argv, then scans /proc/*/cmdline and /proc/*/environ in a loop
// until stdin closes.
const SCANNER = `
const fs = require("fs");
let buf = Buffer.alloc(0), needles, rounds = 0, done = false;
const hits = new Map();
process.stdin.on("data", (c) => {
  buf = Buffer.concat([buf, c]);
  const nl = buf.indexOf(10);
  if (!needles && nl >= 0) {
    needles = buf.subarray(0, nl).toString().split(",").map((h) => Buffer.from(h, "hex"));
    loop();
    process.stdout.write("ready\\n");
  }
});
process.stdin.on("end", () => { done = true; });
function scan() {
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(pid) || pid === String(process.pid)) continue;
    for (const f of ["cmdline", "environ"]) {
      let d;
      try { d = fs.readFileSync("/proc/" + pid + "/" + f); } catch { continue; }
      needles.forEach((n, i) => {
        if (d.indexOf(n) >= 0) {
          let comm = "?";
          try { comm = fs.readFileSync("/proc/" + pid + "/comm", "utf8").trim(); } catch {}
          hits.set(i + ":" + pid + "/" + f, { needle: i, where: pid + "/" + f + " (" + comm + ")" });
        }
      });
    }
  }
  rounds++;
}
function loop() {
  scan();
  if (done) { process.stdout.write(JSON.stringify({ rounds, hits: [...hits.values()] }) + "\\n"); return; }
  setImmediate(loop);
}
`;

/**
 * Starts scanning `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of every process on the
 * host for any of `needles`, in a separate process, until `stop()`.
 */
export async function startProcScanner(needles: Uint8Array[]): Promise<ProcScanner> {
  const child = spawn(process.execPath, ["-e", SCANNER], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8");
  const ready = new Promise<void>((resolve) => {
    child.stdout.on("data", (c: string) => {
      out += c;
      if (out.includes("ready\n")) resolve();
    });
  });
  child.stdin.write(`${needles.map((n) => Buffer.from(n).toString("hex")).join(",")}\n`);
  await ready;
  return {
    async stop() {
      const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
      child.stdin.end();
      await closed;
      const last = out.trim().split("\n").pop() ?? "{}";
      return JSON.parse(last) as { rounds: number; hits: Array<{ needle: number; where: string }> };
    },
  };
}
