import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ensureProbeImage } from "@keyhole/probe";
import { build } from "rolldown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadSharedServiceDirs } from "./gc.js";
import { podmanGc } from "./index.js";
import { containersOfRun, secretsOfRun } from "./test-helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
let bundleDir: string;
let bundle: string;
let image: string;

// The child runs keyhole from source: bundled with rolldown (the bundler under vite), with
// @keyhole/* resolved to their sources like the vitest config does.
beforeAll(async () => {
  image = await ensureProbeImage("podman");
  bundleDir = await mkdtemp(join(tmpdir(), "keyhole-podman-test-child-"));
  bundle = join(bundleDir, "child.mjs");
  await build({
    input: join(here, "test-child.ts"),
    platform: "node",
    resolve: { alias: { "@keyhole/core": resolve(here, "../../core/src/index.ts") } },
    output: { file: bundle, format: "esm" },
    logLevel: "silent",
  });
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

/**
 * Starts the child and resolves with its run id and API socket once it created a secret and a
 * workload.
 */
async function startChild(
  kind: "file" | "pass",
  then = "idle",
): Promise<{ child: ChildProcess; runId: string; socket: string }> {
  const child = spawn(process.execPath, [bundle, kind, image, then], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const { runId, socket } = await new Promise<{ runId: string; socket: string }>(
    (resolvePromise, reject) => {
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolvePromise(JSON.parse(line) as { runId: string; socket: string });
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    },
  );
  // The service is found by its socket in argv: a vacuous needle would make the checks below pass.
  expect(socket).toMatch(/\/keyhole-podman-svc-[0-9a-f]+-\d+\/podman\.sock$/);
  return { child, runId, socket };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
}

/** Host processes whose argv mentions `needle` (a run's private directory, an API socket). */
function processesMentioning(needle: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        return argv.includes(needle) ? [`${pid}: ${argv}`] : [];
      } catch {
        return [];
      }
    });
}

describe("interrupted runs", () => {
  it("lifecycle.cleanup: SIGINT of a process using the API leaves nothing with its label", async () => {
    const { child, runId, socket } = await startChild("pass");
    expect(processesMentioning(socket).some((p) => p.includes("system service"))).toBe(true);
    expect(await containersOfRun(runId)).toHaveLength(1);
    expect(await secretsOfRun(runId)).toHaveLength(1);
    child.kill("SIGINT");
    // keyhole's cleanup re-raises the signal after disposing, so the usual status remains.
    expect(await exitOf(child)).toEqual({ code: null, signal: "SIGINT" });
    expect(await containersOfRun(runId)).toEqual([]);
    expect(await secretsOfRun(runId)).toEqual([]);
    expect(existsSync(join(tmpdir(), `keyhole-podman-${runId}`))).toBe(false);
    expect(existsSync(dirname(socket))).toBe(false);
    expect(processesMentioning(`keyhole-podman-${runId}`)).toEqual([]);
    expect(processesMentioning(socket)).toEqual([]);
  });

  it("a process that exits without disposing stops the shared service and removes its directory", async () => {
    const { child, runId, socket } = await startChild("file", "exit");
    await exitOf(child);
    const service = () => processesMentioning(socket).filter((p) => p.includes("system service"));
    for (let i = 0; i < 100 && service().length > 0; i++) await sleep(100);
    expect(service()).toEqual([]);
    expect(existsSync(dirname(socket))).toBe(false);
    // Its container and secret stay for gc (nothing disposed them).
    await podmanGc({ runId });
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it("after SIGKILL the API service stops by itself, and podmanGc removes the rest", async () => {
    const { child, runId, socket } = await startChild("pass");
    expect(processesMentioning(socket).some((p) => p.includes("system service"))).toBe(true);
    child.kill("SIGKILL");
    await exitOf(child);
    // The watchdog sees its stdin pipe close and stops the service; give it some attempts.
    // (The throwaway store's gpg-agent outlives it: gc stops that.)
    const service = () => processesMentioning(socket).filter((p) => p.includes("system service"));
    for (let i = 0; i < 100 && service().length > 0; i++) await sleep(100);
    expect(service()).toEqual([]);

    const dir = join(tmpdir(), `keyhole-podman-${runId}`);
    const dry = await podmanGc({ runId, dryRun: true });
    expect(dry.containers.map((c) => [c.runId, c.backendId, c.removed])).toEqual([
      [runId, "podman-pass", false],
    ]);
    expect(dry.secrets.map((s) => [s.name, s.removed])).toEqual([[`kh-int-${runId}`, false]]);
    expect(dry.dirs).toEqual([dir]);
    expect(await containersOfRun(runId)).toHaveLength(1);
    expect(existsSync(dir)).toBe(true);

    const done = await podmanGc({ runId });
    expect(done.containers.every((c) => c.removed)).toBe(true);
    expect(done.secrets.every((s) => s.removed)).toBe(true);
    expect(await containersOfRun(runId)).toEqual([]);
    expect(await secretsOfRun(runId)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(`keyhole-podman-${runId}`)).toEqual([]);
    expect(processesMentioning(socket)).toEqual([]);
    // The shared service's directory belongs to no run: only an unscoped gc (not run on this
    // shared machine) removes it, once it is a minute old; here, the same test by hand.
    expect(existsSync(dirname(socket))).toBe(true);
    await utimes(dirname(socket), new Date(0), new Date(0));
    expect(await deadSharedServiceDirs(dirname(dirname(socket)))).toContain(dirname(socket));
    await rm(dirname(socket), { recursive: true, force: true });
  });
});
