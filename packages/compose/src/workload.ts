import {
  type ExecOptions,
  type ExecResult,
  InvalidInputError,
  type NormalizedFileDelivery,
  UnsupportedDeliveryError,
  validateEnvName,
  type Workload,
} from "@keyhole/core";
import { type ExecTarget, execInContainer } from "@keyhole/docker-api";

/** What {@link ComposeWorkload} needs from the backend that started it. */
export interface ComposeWorkloadInit {
  /** The container and the engine client that reaches it. */
  target: ExecTarget;
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
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
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
