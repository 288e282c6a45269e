import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { podmanEnv } from "@keyhole/core";
import { beforeAll, describe, expect, it } from "vitest";
import { gcCommand } from "./gc-command.js";
import type { CliIO } from "./io.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

// A user's program, killed with SIGKILL half-way: no handler of keyhole's can run, so its
// container and secret stay behind. It imports the built adapters the way a user would. The
// value is made inside the child, never passed through argv or env.
const VICTIM = `
import { randomBytes } from "node:crypto";
import { podmanFileBackend } from "@keyhole/podman";
import { ensureProbeImage } from "@keyhole/probe";
const backend = podmanFileBackend({ runId: process.argv[1] });
const secret = await backend.createSecret("gc-victim-" + process.argv[1], randomBytes(16).toString("hex"));
await backend.run({
  image: await ensureProbeImage("podman"),
  command: ["sh", "-c", 'trap "exit 0" TERM; while :; do sleep 1; done'],
  secrets: [{ secret, as: "file" }],
});
process.stdout.write("ready\\n");
setInterval(() => {}, 60_000);
`;

function memoryIO(): CliIO & { out: () => string } {
  const out: string[] = [];
  return {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => out.push(t) },
    env: process.env,
    cwd: ROOT,
    out: () => out.join(""),
  };
}

/** What Podman itself (not the adapter) still holds of a run: container ids and secret names. */
function podmanLeftovers(runId: string): string[] {
  const env = podmanEnv();
  const podman = (args: string[]) =>
    execFileSync("podman", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const containers = podman(["ps", "-a", "-q", "--filter", `label=keyhole.run=${runId}`])
    .split("\n")
    .filter(Boolean);
  const ids = podman(["secret", "ls", "--format", "{{.ID}}"]).split("\n").filter(Boolean);
  const secrets = ids.flatMap((id) => {
    try {
      const line = podman(["secret", "inspect", "--format", "{{.Spec.Name}} {{.Spec.Labels}}", id]);
      return line.includes(`keyhole.run:${runId}`) ? [line.split(" ")[0]!] : [];
    } catch {
      return []; // removed meanwhile by someone else's test
    }
  });
  return [...containers.map((c) => `container ${c}`), ...secrets.map((s) => `secret ${s}`)];
}

describe("keyhole gc after a run killed with SIGKILL (real Podman)", () => {
  // Scoped to this test's own run id: other tests use the same engines at the same time.
  const runId = `gc${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", VICTIM, runId], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => {
        if (c.toString().includes("ready")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`the victim exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    expect(podmanLeftovers(runId)).toHaveLength(2);
  });

  it("--dry-run lists what was left and removes nothing", async () => {
    const io = memoryIO();
    expect(await gcCommand({ dryRun: true, runId }, io)).toBe(0);
    expect(io.out()).toMatch(
      new RegExp(`^podman: would remove container \\S+ \\(run ${runId}\\)$`, "m"),
    );
    expect(io.out()).toContain(`podman: would remove secret gc-victim-${runId} (run ${runId})`);
    expect(io.out()).toContain("Would remove 2 objects.");
    expect(podmanLeftovers(runId)).toHaveLength(2);
  });

  it("removes the container and the secret, and a second gc finds nothing", async () => {
    const first = memoryIO();
    expect(await gcCommand({ dryRun: false, runId }, first)).toBe(0);
    expect(first.out()).toMatch(
      new RegExp(`^podman: removed container \\S+ \\(run ${runId}\\)$`, "m"),
    );
    expect(first.out()).toContain(`podman: removed secret gc-victim-${runId} (run ${runId})`);
    expect(first.out()).toContain("Removed 2 objects.");
    expect(podmanLeftovers(runId)).toEqual([]);

    const second = memoryIO();
    expect(await gcCommand({ dryRun: false, runId }, second)).toBe(0);
    expect(second.out()).toContain(`podman: nothing labelled keyhole of run ${runId}`);
    expect(second.out()).toContain(`docker swarm: nothing labelled keyhole of run ${runId}`);
    expect(second.out()).toContain(`docker: nothing labelled keyhole of run ${runId}`);
    expect(second.out()).toContain("Removed 0 objects.");
  });
});
