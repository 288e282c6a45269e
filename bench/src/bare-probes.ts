import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podmanEnv } from "@keyhole/core";
import { runCommand, sleep } from "./command.js";
import { type BenchImages, DOCKER, type EngineKind, labelArgs, PID1, PODMAN } from "./engines.js";

/**
 * The bare costs of what a conformance pass does besides starting workloads, each measured
 * without keyhole on the same engine:
 *
 * - **exec** — one exec session running `true` in a running container, through the same API
 *   the adapter uses (create, start with the stream attached, inspect for the exit code: the
 *   three requests of `workload.exec`), over the same kind of socket: a private `podman system
 *   service` for Podman, dockerd's socket for Docker and Swarm (a Swarm task is a Docker
 *   container);
 * - **cli** — one `podman container inspect` / `docker container inspect` of that container:
 *   the engine-CLI oracle calls of the host probes (inspect, ps, secret ls, info) each cost a
 *   CLI process start like this one;
 * - **scan** — the suite's storage scan (its exact `grep` argv, read back from the report's
 *   evidence) with a fresh random needle on stdin: the I/O of reading the engine's state.
 */
export interface BareProbeSet {
  /** Podman's API service and the bare containers, removed at the end. */
  close(): Promise<void>;
  /** One exec session through the engine's API, ms. */
  exec(engine: EngineKind): Promise<number>;
  /** One engine CLI call, ms. */
  cli(engine: EngineKind): Promise<number>;
}

/** Starts one long-lived bare container per engine (Podman, Docker) and Podman's API service. */
export async function bareProbes(
  engines: readonly EngineKind[],
  images: BenchImages,
  runId: string,
): Promise<BareProbeSet> {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-bench-api-"));
  const containers: Partial<Record<"podman" | "docker", string>> = {};
  let service: ChildProcess | undefined;
  const socket = join(dir, "podman.sock");
  const close = async () => {
    if (containers.podman)
      await runCommand(PODMAN, ["rm", "-f", "-t", "0", containers.podman], {
        env: podmanEnv(),
        check: false,
      });
    if (containers.docker)
      await runCommand(DOCKER, ["rm", "-f", containers.docker], { check: false });
    if (service?.pid) {
      try {
        process.kill(-service.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const wanted = new Set(engines.map((e) => (e === "podman" ? "podman" : "docker")));
    if (wanted.has("podman")) {
      const r = await runCommand(
        PODMAN,
        ["run", "-d", "--network", "none", ...labelArgs(runId), images.podman, ...PID1],
        { env: podmanEnv() },
      );
      containers.podman = r.stdout.trim();
      service = spawn(PODMAN, ["system", "service", "--time=0", `unix://${socket}`], {
        env: podmanEnv(),
        stdio: "ignore",
        detached: true,
      });
      service.unref();
      const deadline = Date.now() + 30_000;
      while (!(existsSync(socket) && (await ping(socket)))) {
        if (Date.now() > deadline) throw new Error("bare podman system service did not answer");
        await sleep(50);
      }
    }
    if (wanted.has("docker")) {
      const r = await runCommand(DOCKER, [
        "run",
        "-d",
        "--network",
        "none",
        ...labelArgs(runId),
        images.docker,
        ...PID1,
      ]);
      containers.docker = r.stdout.trim();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    close,
    exec: (engine) =>
      engine === "podman"
        ? apiExec(socket, "/v4.0.0/libpod", containers.podman!)
        : apiExec("/var/run/docker.sock", "", containers.docker!),
    cli: async (engine) =>
      engine === "podman"
        ? (
            await runCommand(PODMAN, ["container", "inspect", containers.podman!], {
              env: podmanEnv(),
            })
          ).ms
        : (await runCommand(DOCKER, ["container", "inspect", containers.docker!])).ms,
  };
}

/**
 * One storage scan as the suite runs it: `grepArgv` is the argv the report's evidence holds
 * (`grep --exclude-dir=… -zrlsF … -f - -- <roots>`); roots that no longer exist (a pass's
 * throwaway store) are dropped. A random needle (and its base64 form) goes on stdin.
 */
export async function bareScan(grepArgv: readonly string[]): Promise<number> {
  const sep = grepArgv.indexOf("--");
  const args = [
    ...grepArgv.slice(1, sep + 1),
    ...grepArgv.slice(sep + 1).filter((d) => existsSync(d)),
  ];
  const needle = randomBytes(16).toString("hex");
  const r = await runCommand("grep", args, {
    stdin: Buffer.from(`${needle}\n${Buffer.from(needle).toString("base64")}\n`),
    check: false,
    timeoutMs: 300_000,
  });
  // 2 = some file could not be read (vanished, a socket): the suite's scan goes on then too.
  if (r.code > 2) throw new Error(`bare scan: grep exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return r.ms;
}

/** Create, start (attached, stream read to its end), inspect: what `workload.exec` sends. */
async function apiExec(socketPath: string, prefix: string, container: string): Promise<number> {
  const started = performance.now();
  const created = await call(socketPath, "POST", `${prefix}/containers/${container}/exec`, {
    AttachStdout: true,
    AttachStderr: true,
    Cmd: ["true"],
  });
  if (created.status >= 400) throw new Error(`exec create: HTTP ${created.status}`);
  const id = (JSON.parse(created.body.toString("utf8")) as { Id: string }).Id;
  await hijack(socketPath, `${prefix}/exec/${id}/start`, { Detach: false, Tty: false });
  for (;;) {
    const info = await call(socketPath, "GET", `${prefix}/exec/${id}/json`);
    const state = JSON.parse(info.body.toString("utf8")) as {
      Running?: boolean;
      ExitCode?: number;
    };
    if (!state.Running) {
      if (state.ExitCode !== 0) throw new Error(`bare exec exited ${state.ExitCode}`);
      return performance.now() - started;
    }
    await sleep(10);
  }
}

async function ping(socketPath: string): Promise<boolean> {
  try {
    return (await call(socketPath, "GET", "/_ping")).status === 200;
  } catch {
    return false;
  }
}

function call(
  socketPath: string,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: Buffer }> {
  const payload = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload
          ? { "Content-Type": "application/json", "Content-Length": payload.length }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function hijack(socketPath: string, path: string, json: unknown): Promise<void> {
  const payload = Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      method: "POST",
      path,
      headers: {
        "Content-Type": "application/json",
        "Content-Length": payload.length,
        Connection: "Upgrade",
        Upgrade: "tcp",
      },
    });
    req.on("upgrade", (_res, socket) => {
      socket.on("data", () => {});
      socket.on("end", () => resolve());
      socket.on("error", reject);
      socket.end();
    });
    req.on("response", (res) => {
      res.on("data", () => {});
      res.on("end", () =>
        (res.statusCode ?? 0) >= 400
          ? reject(new Error(`exec start: HTTP ${res.statusCode}`))
          : resolve(),
      );
    });
    req.on("error", reject);
    req.end(payload);
  });
}
