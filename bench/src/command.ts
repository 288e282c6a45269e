import { spawn } from "node:child_process";

/** What a finished CLI call returned, and how long it took (spawn to exit). */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of {@link runCommand}. */
export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Working directory. Default: this process's. */
  cwd?: string;
  /** Bytes written to a piped stdin, or a file descriptor handed over as stdin. Default: none. */
  stdin?: Buffer | number;
  /** Throw when the exit code is not 0. Default true. */
  check?: boolean;
  /** Kill the command and throw after this many ms. Default 120 000. */
  timeoutMs?: number;
}

/**
 * Runs `binary args…` to completion and times it. Used for the bare-CLI halves of every
 * benchmark. Argv never holds a secret value: values go through `stdin`.
 */
export function runCommand(
  binary: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const { env = process.env, cwd, stdin, check = true, timeoutMs = 120_000 } = options;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(binary, args, {
      env,
      ...(cwd ? { cwd } : {}),
      stdio: [typeof stdin === "number" ? stdin : stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    if (stdin instanceof Buffer) child.stdin?.end(stdin);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new Error(`${binary} ${args.slice(0, 3).join(" ")} … did not finish in ${timeoutMs} ms`),
        );
        return;
      }
      const result: CommandResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms: performance.now() - started,
      };
      if (check && result.code !== 0) {
        reject(
          new Error(
            `${binary} ${args.slice(0, 3).join(" ")} … exited ${result.code}: ${result.stderr.trim().slice(0, 500)}`,
          ),
        );
      } else resolve(result);
    });
  });
}

/** Times `fn` in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
