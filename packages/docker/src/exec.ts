import { Writable } from "node:stream";
import type { ExecOptions, ExecResult } from "@keyhole/core";
import type Dockerode from "dockerode";
import { toKeyholeError } from "./engine-errors.js";

/** Collects a stream's bytes. */
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

/** Where {@link execInContainer} runs and whom it reports as. */
export interface ExecTarget {
  docker: Dockerode;
  containerId: string;
  backendId: string;
  endpoint: string;
}

/**
 * Runs `argv` in a new exec session through the Docker API: stdin (if any) is written to the
 * hijacked connection and half-closed, so the value travels in the request stream, never in an
 * argv; stdout/stderr are demultiplexed; the exit code comes from the exec's inspect. Without
 * `user` the session runs as the container's user.
 */
export async function execInContainer(
  target: ExecTarget,
  argv: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const { docker, containerId, backendId, endpoint } = target;
  const hasStdin = options.stdin !== undefined;
  try {
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
      const input =
        typeof options.stdin === "string" ? Buffer.from(options.stdin, "utf8") : options.stdin;
      // Half-closing the hijacked connection is what gives the process EOF on stdin (Docker
      // 20.10 and Podman 4.3's compat API both honour CloseWrite on the upgraded stream).
      stream.end(input);
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
  } catch (error) {
    throw toKeyholeError(
      backendId,
      endpoint,
      `run ${JSON.stringify(argv[0] ?? "")} in container ${containerId.slice(0, 12)}`,
      error,
    );
  }
}
