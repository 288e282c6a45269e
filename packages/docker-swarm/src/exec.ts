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

/** Where {@link execInContainer} runs and reports from. */
export interface ExecTarget {
  docker: Dockerode;
  containerId: string;
  backendId: string;
  endpoint: string;
  /** The workload's user, used when `options.user` is not given. */
  defaultUser?: string;
}

/**
 * Runs `argv` in a new exec session of a container through the Engine API: optional stdin
 * (written to the hijacked connection, then half-closed), stdout and stderr demultiplexed,
 * exit code from the exec's inspect.
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
      User: options.user ?? target.defaultUser ?? "",
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
      // Half-close after writing, so the process sees EOF on stdin (needs the "Upgrade: tcp"
      // hijack dockerode 4 uses; Docker 20.10 honours CloseWrite on it).
      stream.end(input);
    }
    await ended;
    // The stream can end a moment before the engine records the exit code.
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) {
        return { exitCode: info.ExitCode, stdout: stdout.text(), stderr: stderr.text() };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("the exec session did not report an exit code within 2 s");
  } catch (error) {
    throw toKeyholeError(
      backendId,
      endpoint,
      `exec ${JSON.stringify(argv[0] ?? "")} in the workload`,
      error,
    );
  }
}
