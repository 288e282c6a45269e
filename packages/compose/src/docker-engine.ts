import { Writable } from "node:stream";
import {
  EngineError,
  EngineUnavailableError,
  type ExecOptions,
  type ExecResult,
  isKeyholeError,
  type KeyholeError,
} from "@keyhole/core";
import type Dockerode from "dockerode";

// The few Docker Engine API calls the compose backends make themselves (Compose does the rest):
// exec with stdin into a workload, and errors typed as keyhole's.

/** The shape of errors from dockerode / docker-modem (HTTP) and from node:net (socket). */
interface DockerodeError {
  statusCode?: number;
  json?: unknown;
  code?: string;
  message?: string;
}

/** The HTTP status of a failed engine request, if it got that far. */
export function engineStatus(error: unknown): number | undefined {
  return (error as DockerodeError | undefined)?.statusCode;
}

/**
 * A Docker-API failure as keyhole's typed error: a socket that does not answer →
 * `ENGINE_UNAVAILABLE` with `fix`; anything else → `ENGINE_ERROR` with the engine's reason.
 */
export function toKeyholeError(
  backendId: string,
  endpoint: string,
  doing: string,
  error: unknown,
  fix: string,
): KeyholeError {
  if (isKeyholeError(error)) return error;
  const e = (error ?? {}) as DockerodeError;
  if (["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE", "EACCES"].includes(e.code ?? "")) {
    return new EngineUnavailableError(
      backendId,
      `No Docker engine answers on ${endpoint} (${e.code}) while trying to ${doing}.`,
      fix,
      { cause: error },
    );
  }
  const json = e.json as { message?: unknown } | string | undefined;
  const reason =
    json && typeof json === "object" && "message" in json
      ? String(json.message)
      : (e.message ?? String(error));
  const status = engineStatus(error);
  return new EngineError(
    backendId,
    `The engine at ${endpoint} refused to ${doing}${status ? ` (HTTP ${status})` : ""}: ${reason.trim()}. Check the engine's log.`,
    { cause: error },
  );
}

class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/**
 * Runs `argv` in a new exec session of `containerId`; stdin (if any) is written to the hijacked
 * connection and half-closed, so it never enters an argv. Errors are the engine's, untyped.
 */
export async function execIn(
  docker: Dockerode,
  containerId: string,
  argv: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const hasStdin = options.stdin !== undefined;
  const exec = await docker.getContainer(containerId).exec({
    Cmd: argv,
    User: options.user ?? "",
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    AttachStdin: hasStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream = await exec.start({ hijack: true, stdin: hasStdin });
  const stdout = new Sink();
  const stderr = new Sink();
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  docker.modem.demuxStream(stream, stdout, stderr);
  if (hasStdin) {
    stream.end(typeof options.stdin === "string" ? Buffer.from(options.stdin) : options.stdin);
  }
  await ended;
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 250; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) {
      return { exitCode: info.ExitCode, stdout: stdout.text(), stderr: stderr.text() };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the exec session did not report an exit code within 5 s");
}
