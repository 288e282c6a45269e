import { EngineError } from "@keyhole/core";
import { toKeyholeError } from "@keyhole/docker-api";
import type Dockerode from "dockerode";

/** The parts of a Swarm task the wait looks at. */
interface TaskInfo {
  ID: string;
  NodeID?: string;
  DesiredState?: string;
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** Task states after which a task never runs (again). */
const FINAL_STATES = new Set(["complete", "shutdown", "failed", "rejected", "remove", "orphaned"]);

/** Where {@link waitForRunningTask} found the task. */
export interface RunningTask {
  taskId: string;
  containerId: string;
  /** The swarm node the task runs on. */
  nodeId: string;
}

/** Options of {@link waitForRunningTask}. */
export interface TaskWaitOptions {
  backendId: string;
  endpoint: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between polls. Default 100 ms. */
  intervalMs?: number;
}

/**
 * Polls the tasks of a one-replica service until one is `running` and has a container id.
 * A task that ends up `rejected`, `failed`, `complete` … before that is reported as
 * `ENGINE_ERROR` with the engine's reason; so is a task still not running after `timeoutMs`
 * (e.g. stuck `preparing` while it tries to pull an image).
 */
export async function waitForRunningTask(
  docker: Dockerode,
  serviceId: string,
  options: TaskWaitOptions,
): Promise<RunningTask> {
  const { backendId, endpoint, timeoutMs } = options;
  const interval = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: TaskInfo | undefined;
  for (;;) {
    let tasks: TaskInfo[];
    try {
      tasks = (await docker.listTasks({ filters: { service: [serviceId] } })) as TaskInfo[];
    } catch (error) {
      throw toKeyholeError(backendId, endpoint, "list the tasks of the workload's service", error);
    }
    const running = tasks.find(
      (t) => t.Status?.State === "running" && t.Status.ContainerStatus?.ContainerID,
    );
    if (running) {
      return {
        taskId: running.ID,
        containerId: running.Status!.ContainerStatus!.ContainerID!,
        nodeId: running.NodeID ?? "",
      };
    }
    last = tasks[0] ?? last;
    // With RestartPolicy "none" there is exactly one task; once it is final, it never runs.
    if (tasks.length > 0 && tasks.every((t) => FINAL_STATES.has(t.Status?.State ?? ""))) {
      throw new EngineError(
        backendId,
        `The workload's task ${describeTask(last)}. ${advice(last)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new EngineError(
        backendId,
        `The workload's task did not start within ${Math.round(timeoutMs / 1000)} s (${last ? describeTask(last) : "no task was scheduled"}). Check \`docker service ps --no-trunc\` while it runs, and that the image exists locally.`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function describeTask(task: TaskInfo | undefined): string {
  const s = task?.Status;
  if (!s) return "has no status";
  const parts = [`is ${s.State ?? "unknown"}`];
  if (s.Err) parts.push(`error: ${s.Err}`);
  else if (s.Message) parts.push(`message: ${s.Message}`);
  if (s.ContainerStatus?.ExitCode !== undefined && s.State !== "rejected") {
    parts.push(`exit code ${s.ContainerStatus.ExitCode}`);
  }
  return parts.join(", ");
}

function advice(task: TaskInfo | undefined): string {
  const state = task?.Status?.State;
  if (/could not find bridge docker0/.test(task?.Status?.Err ?? "")) {
    // Seen on Docker 20.10.24 when the docker0 link was deleted under a running dockerd:
    // Swarm tasks without a network join the local "bridge" network and cannot start.
    return "dockerd's default bridge docker0 is missing; Swarm tasks join it. Restart dockerd (node scripts/setup.mjs) or recreate the bridge.";
  }
  if (state === "complete") {
    return 'Its command exited before the workload could be used; give it a long-running command, e.g. ["sh", "-c", "trap \'exit 0\' TERM; while :; do sleep 1; done"].';
  }
  return "Fix the image, command or user of the run and try again.";
}
