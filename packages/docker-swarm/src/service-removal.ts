import { EngineError } from "@keyhole/core";
import { engineStatus, toKeyholeError } from "@keyhole/docker-api";
import type Dockerode from "dockerode";

/** Options of {@link removeService}. */
export interface RemoveServiceOptions {
  backendId: string;
  endpoint: string;
  /** Give up waiting for the task's container after this many milliseconds. */
  timeoutMs: number;
  /**
   * The engine of the node that runs the task, when it is not the manager (a multi-node swarm):
   * its container is waited for and removed there. Default: the manager's.
   */
  node?: Dockerode;
}

/**
 * Removes a Swarm service (a missing one is fine), force-removes its task containers and waits
 * until the engine lists none: `DELETE /services/{id}` returns at once, while the agent would
 * stop and remove the container only a moment later. Bounded by `timeoutMs`.
 */
export async function removeService(
  docker: Dockerode,
  serviceId: string,
  options: RemoveServiceOptions,
): Promise<void> {
  const { backendId, endpoint, timeoutMs } = options;
  try {
    await docker.getService(serviceId).remove();
  } catch (error) {
    if (engineStatus(error) !== 404) {
      throw toKeyholeError(backendId, endpoint, `remove the service ${serviceId}`, error);
    }
  }
  const deadline = Date.now() + timeoutMs;
  const host = options.node ?? docker;
  let forced = false;
  for (;;) {
    let left: Array<{ Id: string }>;
    try {
      left = await host.listContainers({
        all: true,
        filters: { label: [`com.docker.swarm.service.id=${serviceId}`] },
      });
    } catch (error) {
      throw toKeyholeError(backendId, endpoint, "list the service's containers", error);
    }
    if (left.length === 0) return;
    if (!forced) {
      // The swarm agent removes a deleted service's container on its own, but only ~2 s later
      // (Docker 20.10.24); removing it ourselves ends the wait at once. The agent treats the
      // missing container as already gone.
      forced = true;
      await Promise.all(
        left.map((c) =>
          host
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
      continue;
    }
    if (Date.now() >= deadline) {
      throw new EngineError(
        backendId,
        `The service ${serviceId} was removed, but its container is still there after ${Math.round(timeoutMs / 1000)} s. Check \`docker ps -a --filter label=com.docker.swarm.service.id=${serviceId}\`, then run \`keyhole gc\`.`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
