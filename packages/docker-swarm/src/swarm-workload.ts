import {
  type ExecOptions,
  type ExecResult,
  OnceDeliveries,
  UnsupportedDeliveryError,
  type Workload,
} from "@keyhole/core";
import { execInContainer } from "@keyhole/docker-api";
import type Dockerode from "dockerode";

/** What a {@link SwarmWorkload} is made of. */
export interface SwarmWorkloadInit {
  docker: Dockerode;
  backendId: string;
  endpoint: string;
  serviceId: string;
  containerId: string;
  user: string | undefined;
  fileTargets: readonly string[];
  /** The node's name on a multi-node swarm (its engine is `docker`); undefined on one node. */
  node?: string;
  /** Removes the service and waits for its container to go (the backend also forgets it). */
  remove: () => Promise<void>;
}

/** A Swarm service with one running task; `exec` goes into that task's container. */
export class SwarmWorkload implements Workload {
  readonly containerId: string;
  readonly objectId: string;
  readonly backendId: string;
  readonly fileTargets: readonly string[];
  readonly node?: string;
  readonly #init: SwarmWorkloadInit;
  #stopping: Promise<void> | undefined;
  #once: OnceDeliveries;

  constructor(init: SwarmWorkloadInit) {
    this.#init = init;
    this.#once = new OnceDeliveries(init.backendId);
    this.containerId = init.containerId;
    this.objectId = init.serviceId;
    this.backendId = init.backendId;
    this.fileTargets = init.fileTargets;
    if (init.node !== undefined) this.node = init.node;
  }

  exec(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    const { docker, backendId, endpoint, user } = this.#init;
    return execInContainer(
      { docker, containerId: this.containerId, backendId, endpoint, defaultUser: user },
      argv,
      options,
    );
  }

  /** @internal The backend hands over the run's read-once deliveries once they are set up. */
  attachOnce(once: OnceDeliveries): void {
    this.#once = once;
  }

  consumed(target: string): Promise<Date> {
    return this.#once.consumed(target);
  }

  async scrub(_target: string): Promise<void> {
    throw new UnsupportedDeliveryError(
      this.backendId,
      "Swarm secrets are read-only tmpfs mounts, so a secret file cannot be scrubbed in place. It disappears when the workload stops: call stop() after the step that needs it.",
    );
  }

  stop(): Promise<void> {
    // A failed stop may be retried; a successful one is remembered.
    this.#stopping ??= this.#init.remove().catch((error: unknown) => {
      this.#stopping = undefined;
      throw error;
    });
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
