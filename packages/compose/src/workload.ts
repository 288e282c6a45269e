import {
  type ExecOptions,
  type ExecResult,
  InvalidInputError,
  type NormalizedFileDelivery,
  UnsupportedDeliveryError,
  validateEnvName,
  type Workload,
} from "@keyhole/core";
import type Dockerode from "dockerode";
import { execIn, toKeyholeError } from "./docker-engine.js";

/** What {@link ComposeWorkload} needs from the backend that started it. */
export interface ComposeWorkloadInit {
  docker: Dockerode;
  containerId: string;
  backendId: string;
  endpoint: string;
  fix: string;
  deliveries: readonly NormalizedFileDelivery[];
  /** `docker compose down` of its project and removal of its private directory. */
  stop: () => Promise<void>;
}

/** The one container of a Compose project started by a compose backend. */
export class ComposeWorkload implements Workload {
  readonly containerId: string;
  readonly objectId: string;
  readonly backendId: string;
  readonly fileTargets: readonly string[];
  readonly #init: ComposeWorkloadInit;
  #stopping: Promise<void> | undefined;

  constructor(init: ComposeWorkloadInit) {
    this.#init = init;
    this.containerId = init.containerId;
    this.objectId = init.containerId;
    this.backendId = init.backendId;
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
    try {
      return await execIn(this.#init.docker, this.containerId, argv, options);
    } catch (error) {
      throw toKeyholeError(
        this.backendId,
        this.#init.endpoint,
        `run ${JSON.stringify(argv[0] ?? "")} in container ${this.containerId.slice(0, 12)}`,
        error,
        this.#init.fix,
      );
    }
  }

  async scrub(_target: string): Promise<void> {
    throw new UnsupportedDeliveryError(
      this.backendId,
      "Compose secrets cannot be scrubbed by this backend (file: sources are read-only binds). Deliver without scrub.",
    );
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#init.stop().catch((error: unknown) => {
      this.#stopping = undefined;
      throw error;
    });
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
