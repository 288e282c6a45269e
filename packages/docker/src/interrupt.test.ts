import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KEYHOLE_RUN_LABEL } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import Dockerode from "dockerode";
import { build } from "rolldown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerGc } from "./index.js";
import { resolveLocalEndpoint } from "./testcontainers-client.js";

const here = dirname(fileURLToPath(import.meta.url));
const oracle = new Dockerode({ socketPath: resolveLocalEndpoint("docker", undefined).socketPath });
let bundleDir: string;
let bundle: string;
let image: string;

const containersOfRun = (runId: string) =>
  oracle.listContainers({ all: true, filters: { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] } });

// The child runs keyhole from source, bundled with rolldown (the bundler under vite) with
// @keyhole/core resolved to its source like the vitest config does. testcontainers and
// dockerode stay external, so the bundle lives under the repo's node_modules to find them.
beforeAll(async () => {
  image = await ensureProbeImage("docker");
  const cache = resolve(here, "../../../node_modules/.cache");
  await mkdir(cache, { recursive: true });
  bundleDir = await mkdtemp(join(cache, "keyhole-docker-test-child-"));
  bundle = join(bundleDir, "child.mjs");
  await build({
    input: join(here, "test-child.ts"),
    platform: "node",
    external: ["testcontainers", "dockerode"],
    resolve: { alias: { "@keyhole/core": resolve(here, "../../core/src/index.ts") } },
    output: { file: bundle, format: "esm" },
    logLevel: "silent",
  });
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

async function startChild(): Promise<{ child: ChildProcess; runId: string }> {
  const child = spawn(process.execPath, [bundle, image], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const runId = await new Promise<string>((resolvePromise, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolvePromise((JSON.parse(line) as { runId: string }).runId);
    });
    child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
  return { child, runId };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
}

describe("interrupted runs", () => {
  it("lifecycle.cleanup: SIGINT of a process with a running workload leaves nothing", async () => {
    const { child, runId } = await startChild();
    expect(await containersOfRun(runId)).toHaveLength(1);
    child.kill("SIGINT");
    // keyhole's cleanup re-raises the signal after disposing, so the usual status remains.
    expect(await exitOf(child)).toEqual({ code: null, signal: "SIGINT" });
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it("after SIGKILL (no cleanup possible) dockerGc removes what the run left", async () => {
    const { child, runId } = await startChild();
    child.kill("SIGKILL");
    await exitOf(child);
    expect(await containersOfRun(runId)).toHaveLength(1);
    const gc = await dockerGc({ runId });
    expect(gc.found.map((c) => [c.runId, c.state])).toEqual([[runId, "running"]]);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});
