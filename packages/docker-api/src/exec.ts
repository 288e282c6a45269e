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
  /** A client of the engine the container runs on (see `dockerClient`). */
  docker: Dockerode;
  containerId: string;
  /** The backend id in errors. */
  backendId: string;
  /** The endpoint URL in errors, e.g. `unix:///var/run/docker.sock`. */
  endpoint: string;
  /** The user when `options.user` is not given. Default: the container's own user. */
  defaultUser?: string;
}

/** How many times (20 ms apart) to ask for the exit code after the exec's stream ended. */
const EXIT_CODE_POLLS = 250;

/**
 * Runs `argv` in a new exec session of a container through the Docker Engine API. Stdin (if
 * any) is written to the hijacked connection and half-closed, so a value travels in the request
 * stream, never in an argv; stdout and stderr are split with dockerode's own
 * `modem.demuxStream`; the exit code comes from the exec's inspect. Errors are typed with
 * {@link toKeyholeError}.
 *
 * @example
 * ```ts
 * const r = await execInContainer(
 *   { docker, containerId, backendId: "docker", endpoint: "unix:///var/run/docker.sock" },
 *   ["sh", "-c", "cat > /tmp/x"],
 *   { stdin: "value", user: "2000" },
 * );
 * r.exitCode; // 0
 * ```
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
      ...(options.privileged === true ? { Privileged: true } : {}),
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
      // 20.10 and Podman 4.3's compat API both honour CloseWrite on dockerode 4's
      // "Upgrade: tcp" hijack).
      stream.end(input);
    }
    await ended;
    // The stream can end a moment before the engine records the exit code.
    for (let i = 0; i < EXIT_CODE_POLLS; i++) {
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
