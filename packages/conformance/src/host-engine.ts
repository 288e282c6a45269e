import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { type EngineInfo, podmanEnv } from "@keyhole/core";

/** What an engine CLI printed. stdout stays bytes-exact; nothing is redacted here. */
export interface CliResult {
  /** Exit code; 128 + signal number when a signal ended it (never the 1 of "no match"). */
  code: number;
  stdout: string;
  stderr: string;
  /** True when the timeout killed it: its output is incomplete. */
  timedOut?: boolean;
}

/**
 * The engine's own CLI, used as an oracle that bypasses the adapter under test (`podman
 * inspect`, `docker ps --filter label=…`). Never given a secret value: values are compared in
 * Node after the output comes back.
 */
export interface EngineCli {
  readonly kind: "podman" | "docker";
  readonly binary: string;
  run(args: string[], timeoutMs?: number): Promise<CliResult>;
}

/**
 * The CLI for `engine`, with the environment the backend declared (`engine.env`, Podman's
 * `CONTAINERS_CONF` via `podmanEnv()`, `DOCKER_HOST` from `engine.endpoint`), or the argv
 * prefix `engine.cli` when the backend declares one; undefined for engines of kind
 * `"other"`, which keyhole cannot look at from the host.
 */
export function engineCli(engine: EngineInfo): EngineCli | undefined {
  if (engine.kind === "other") return undefined;
  const kind = engine.kind;
  const base = { ...process.env, ...(engine.env ?? {}) };
  let env: NodeJS.ProcessEnv;
  let binary: string;
  if (kind === "podman") {
    env = podmanEnv(base);
    binary = "podman";
  } else {
    env = { ...base };
    if (engine.endpoint && /^(unix|tcp|ssh):\/\//.test(engine.endpoint))
      env.DOCKER_HOST = engine.endpoint;
    // Debian's client matches its dockerd; /usr/local/bin/docker may be a newer client-only build.
    binary = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  }
  // An engine in other namespaces (an engine set) names its own CLI: an argv prefix.
  const prefix = engine.cli && engine.cli.length > 0 ? engine.cli : undefined;
  if (prefix) {
    binary = prefix[0] as string;
    // The host's Podman configuration is not that engine's.
    env = cliEnv(engine);
  }
  const lead = prefix ? prefix.slice(1) : [];
  return {
    kind,
    binary,
    run: (args, timeoutMs = 60_000) => runCollect(binary, [...lead, ...args], { env, timeoutMs }),
  };
}

/**
 * The host path of `path` as the engine names it: translated with the `enginePath` of the
 * declared storage (an engine in another mount namespace), else unchanged.
 */
export function hostPathOf(engine: EngineInfo, path: string): string {
  let best: { path: string; enginePath: string } | undefined;
  for (const s of engine.storage ?? []) {
    const e = s.enginePath;
    if (!e || !(path === e || path.startsWith(`${e}/`))) continue;
    if (!best || e.length > best.enginePath.length) best = { path: s.path, enginePath: e };
  }
  return best ? best.path + path.slice(best.enginePath.length) : path;
}

/**
 * Runs `command` and collects its output; `input` (if any) goes to its stdin, which is how a
 * value reaches a host tool (e.g. `grep -f -`) without entering its argv.
 */
export function runCollect(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    child.stdout?.on("data", (d: Buffer) => out.push(d));
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: "", stderr: e.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        // A killed process has no exit code: report 128 + signal, never a code that reads as
        // an answer (grep's 1 means "no match").
        code: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0),
        ...(timedOut ? { timedOut } : {}),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    if (child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

/**
 * Environment for an engine's own CLI prefix (`engine.cli`): the caller's plus `engine.env`,
 * without the host Podman's `CONTAINERS_CONF` unless the engine declares one.
 */
export function cliEnv(engine: EngineInfo): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(engine.env ?? {}) };
  if (!engine.env?.CONTAINERS_CONF) delete env.CONTAINERS_CONF;
  return env;
}
