import { spawn } from "node:child_process";

/** What a Compose command printed (not redacted: callers redact before showing it). */
export interface ComposeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs Compose: `composeCli` followed by `args`, stdin closed, output collected. No value is
 * ever in `args` or in the environment of the process (it inherits this process's, which
 * holds none): `environment:` sources come through an env-file FIFO, `file:` sources are host
 * files. Resolves on exit; a process that cannot start resolves with code 127.
 */
export function runCompose(
  composeCli: readonly string[],
  args: readonly string[],
  timeoutMs = 300_000,
): Promise<ComposeResult> {
  return new Promise((resolve) => {
    const [command, ...rest] = composeCli;
    const child = spawn(command ?? "docker", [...rest, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: "", stderr: e.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** The last `n` lines of `text`, for error messages. */
export function lastLines(text: string, n = 6): string {
  return text.trim().split("\n").slice(-n).join("\n");
}
