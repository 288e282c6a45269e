import { spawn } from "node:child_process";
import { EngineUnavailableError } from "@keyhole/core";

/** What an engine CLI call returned. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an engine CLI (`podman …`, `docker …`) to completion with no stdin. A binary that is
 * missing or not executable becomes {@link EngineUnavailableError} carrying `fix`.
 */
export function runEngineCommand(
  engine: string,
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  fix: string,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "EACCES") {
        reject(
          new EngineUnavailableError(
            engine,
            `The ${engine} command (${binary}) is not installed or not executable.`,
            fix,
            { cause: error },
          ),
        );
      } else reject(error);
    });
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}
