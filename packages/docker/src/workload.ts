import {
  type ExecOptions,
  type ExecResult,
  InvalidInputError,
  type NormalizedFileDelivery,
  type OnceDeliveries,
  validateEnvName,
  validateFileTarget,
  type Workload,
} from "@keyhole/core";
import {
  type ExecTarget,
  engineStatus,
  execInContainer,
  toKeyholeError,
} from "@keyhole/docker-api";
import type { StartedTestContainer } from "testcontainers";
import { scrubFile } from "./file-delivery.js";

/** What {@link DockerWorkload} needs from the backend that started it. */
export interface DockerWorkloadInit {
  target: ExecTarget;
  started: StartedTestContainer;
  deliveries: readonly NormalizedFileDelivery[];
  /** The run's read-once deliveries (possibly none). */
  once: OnceDeliveries;
  /** Called once the container is gone, so the backend stops tracking it. */
  stopped: () => Promise<void>;
  /** Removes the container by its workload label (when testcontainers' stop fails). */
  sweep: () => Promise<void>;
}

/** A container started by the Docker baseline backend. */
export class DockerWorkload implements Workload {
  readonly containerId: string;
  readonly objectId: string;
  readonly backendId: string;
  readonly fileTargets: readonly string[];
  readonly #init: DockerWorkloadInit;
  #stopping: Promise<void> | undefined;

  constructor(init: DockerWorkloadInit) {
    this.#init = init;
    this.containerId = init.target.containerId;
    this.objectId = init.target.containerId;
    this.backendId = init.target.backendId;
    this.fileTargets = Object.freeze(init.deliveries.map((d) => d.target));
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
      throw new InvalidInputError(
        this.backendId,
        'exec needs a non-empty array of strings, e.g. ["id", "-u"].',
      );
    }
    if (
      options.user !== undefined &&
      (typeof options.user !== "string" ||
        !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(options.user))
    ) {
      throw new InvalidInputError(
        this.backendId,
        `The user ${JSON.stringify(options.user)} is not allowed. Use e.g. "2000", "2000:2000" or "alice".`,
      );
    }
    for (const name of Object.keys(options.env ?? {})) validateEnvName(this.backendId, name);
    return execInContainer(this.#init.target, argv, {
      user: options.user,
      stdin: options.stdin,
      env: options.env,
      privileged: options.privileged,
    });
  }

  consumed(target: string): Promise<Date> {
    return this.#init.once.consumed(target);
  }

  async scrub(target: string): Promise<void> {
    const path = validateFileTarget(this.backendId, target, true);
    const delivery = this.#init.deliveries.find((d) => d.target === path);
    if (delivery?.scrub !== true) {
      throw new InvalidInputError(
        this.backendId,
        `${path} was not delivered with scrub: true in this run. Deliver it with { as: "file", scrub: true } to scrub it after use.`,
      );
    }
    await scrubFile(this.#init.target, delivery);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const { target, started, stopped, sweep } = this.#init;
    try {
      await started.stop({ timeout: 0, remove: true, removeVolumes: true });
    } catch (error) {
      // Already gone (removed by hand, or `keyhole gc`) is what stop() wants anyway.
      if (engineStatus(error) !== 404) {
        try {
          await sweep();
        } catch (sweepError) {
          this.#stopping = undefined;
          throw toKeyholeError(
            target.backendId,
            target.endpoint,
            `remove container ${target.containerId.slice(0, 12)}`,
            sweepError,
          );
        }
      }
    }
    await stopped();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
