import { setTimeout as sleep } from "node:timers/promises";
import {
  EngineError,
  type ExecOptions,
  type ExecResult,
  InvalidInputError,
  type NormalizedFileDelivery,
  OnceDeliveries,
  validateEnvName,
  validateFileTarget,
  type Workload,
} from "@keyhole/core";
import { demuxDockerStream } from "./docker-stream.js";
import { engineMessage, type LibpodClient } from "./libpod-client.js";
import { once } from "./podman-service.js";

const USER_RE = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/;

/** What a {@link PodmanWorkload} needs from its backend. */
export interface PodmanWorkloadInit {
  backendId: string;
  client: LibpodClient;
  containerId: string;
  /** User of PID 1, the default for exec sessions. */
  user: string | undefined;
  files: readonly NormalizedFileDelivery[];
  /** Called once the container is gone (the backend stops tracking it). */
  onRemoved: () => void;
}

/**
 * A running Podman container that received secrets. `exec` uses libpod's exec API;
 * `scrub` overwrites a writable secret file from inside; `stop` force-removes the container.
 */
export class PodmanWorkload implements Workload {
  readonly containerId: string;
  readonly objectId: string;
  readonly backendId: string;
  readonly fileTargets: readonly string[];
  readonly #client: LibpodClient;
  readonly #user: string | undefined;
  readonly #files: readonly NormalizedFileDelivery[];
  #stopped = false;
  #once: OnceDeliveries;
  readonly stop: () => Promise<void>;

  constructor(init: PodmanWorkloadInit) {
    this.containerId = init.containerId;
    this.objectId = init.containerId;
    this.backendId = init.backendId;
    this.fileTargets = init.files.map((f) => f.target);
    this.#client = init.client;
    this.#user = init.user;
    this.#files = init.files;
    this.#once = new OnceDeliveries(init.backendId);
    this.stop = once(async () => {
      this.#stopped = true;
      await removeContainer(init.client, init.backendId, init.containerId);
      init.onRemoved();
    });
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const id = this.backendId;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
      throw new InvalidInputError(
        id,
        'exec needs a non-empty array of strings, e.g. ["id", "-u"].',
      );
    }
    const user = options.user ?? this.#user;
    if (user !== undefined && (typeof user !== "string" || !USER_RE.test(user))) {
      throw new InvalidInputError(
        id,
        `The user ${JSON.stringify(user)} is not allowed. Use e.g. "2000", "2000:2000" or "bob".`,
      );
    }
    const env = Object.entries(options.env ?? {}).map(([k, v]) => {
      validateEnvName(id, k);
      return `${k}=${v}`;
    });
    const stdin =
      options.stdin === undefined
        ? undefined
        : typeof options.stdin === "string"
          ? new TextEncoder().encode(options.stdin)
          : options.stdin;
    if (this.#stopped) {
      throw new EngineError(id, "This workload was stopped. Start a new one with backend.run().");
    }
    const created = await this.#client.request("POST", `/containers/${this.containerId}/exec`, {
      body: {
        json: {
          AttachStdout: true,
          AttachStderr: true,
          AttachStdin: stdin !== undefined,
          Cmd: argv,
          ...(user === undefined ? {} : { User: user }),
          ...(env.length > 0 ? { Env: env } : {}),
          ...(options.privileged === true ? { Privileged: true } : {}),
        },
      },
    });
    if (created.status >= 400) {
      throw new EngineError(
        id,
        `Podman could not create an exec session in container ${this.containerId.slice(0, 12)} (HTTP ${created.status}: ${engineMessage(created)}). Is the workload still running?`,
      );
    }
    const execId = (JSON.parse(created.body.toString("utf8")) as { Id: string }).Id;
    const raw = await this.#client.hijack(
      `/exec/${execId}/start`,
      { Detach: false, Tty: false },
      stdin,
    );
    const { stdout, stderr } = demuxDockerStream(raw);
    return {
      exitCode: await this.#exitCode(execId),
      stdout: stdout.toString("utf8"),
      stderr: stderr.toString("utf8"),
    };
  }

  /** @internal The backend hands over the run's read-once deliveries once they are set up. */
  attachOnce(once: OnceDeliveries): void {
    this.#once = once;
  }

  consumed(target: string): Promise<Date> {
    return this.#once.consumed(target);
  }

  async scrub(target: string): Promise<void> {
    const id = this.backendId;
    const absolute = validateFileTarget(id, target, true);
    const delivery = this.#files.find((f) => f.target === absolute);
    if (!delivery?.scrub) {
      throw new InvalidInputError(
        id,
        `${absolute} was not delivered with scrub: true in this run, so it is read-only. Deliver it with { as: "file", scrub: true }.`,
      );
    }
    // As the file's owner: the owner holds the write bit keyhole added, so this works even
    // with CAP_DAC_OVERRIDE dropped. The path is an argument, never part of the script text;
    // the value itself never leaves the container. Zeros first (same length, in place via
    // `1<>`, which does not truncate), then truncate.
    const owner = `${delivery.uid ?? 0}:${delivery.gid ?? 0}`;
    const script =
      'n=$(stat -c %s "$1") || exit 1; if [ "$n" -gt 0 ]; then head -c "$n" /dev/zero 1<>"$1" || exit 1; fi; : >"$1"';
    const wiped = await this.exec(["sh", "-c", script, "sh", absolute], { user: owner });
    if (wiped.exitCode !== 0) {
      throw new EngineError(
        id,
        `Scrubbing ${absolute} failed inside the container (exit code ${wiped.exitCode}: ${wiped.stderr.trim()}). The image needs sh, stat and head.`,
      );
    }
    const size = await this.exec(["stat", "-c", "%s", absolute], { user: "0" });
    const readBack = await this.exec(["cat", absolute], { user: owner });
    if (size.stdout.trim() !== "0" || (readBack.exitCode === 0 && readBack.stdout.length > 0)) {
      throw new EngineError(
        id,
        `Scrubbing ${absolute} did not take effect: the file still has ${size.stdout.trim() || "unknown"} bytes. Stop the workload now.`,
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #exitCode(execId: string): Promise<number> {
    // The stream can close a moment before Podman records the exit; bounded by attempts,
    // not by wall-clock time.
    for (let attempt = 0; attempt < 200; attempt++) {
      const res = await this.#client.request("GET", `/exec/${execId}/json`);
      if (res.status >= 400) throw this.#client.engineError("inspect an exec session", res);
      const info = JSON.parse(res.body.toString("utf8")) as { Running: boolean; ExitCode: number };
      if (!info.Running) return info.ExitCode;
      await sleep(10);
    }
    throw new EngineError(
      this.backendId,
      `The exec session ${execId.slice(0, 12)} closed its output but Podman still reports it running.`,
    );
  }
}

/** Force-removes a container; a container that is already gone counts as removed. */
export async function removeContainer(
  client: LibpodClient,
  backendId: string,
  containerId: string,
): Promise<void> {
  const res = await client.request("DELETE", `/containers/${containerId}`, {
    query: { force: true },
  });
  if (res.status >= 400 && res.status !== 404) {
    throw new EngineError(
      backendId,
      `Podman could not remove container ${containerId.slice(0, 12)} (HTTP ${res.status}: ${engineMessage(res)}). Remove it with \`podman rm -f ${containerId.slice(0, 12)}\`.`,
    );
  }
}
