import { GenericContainer } from "testcontainers";

/**
 * testcontainers' `GenericContainer` with the two knobs it lacks in 11.x: the engine's stop
 * timeout (`StopTimeout`, so a `docker stop` by hand does not wait 10 s on a PID 1 that ignores
 * SIGTERM) and a callback with the container id as soon as it exists, before it starts, so a
 * failed start can still be cleaned up by id.
 */
export class KeyholeContainer extends GenericContainer {
  #onCreated: ((containerId: string) => void) | undefined;

  /** Sets the engine's stop timeout in seconds (`StopTimeout` of the create request). */
  withStopTimeout(seconds: number): this {
    this.createOpts.StopTimeout = seconds;
    return this;
  }

  /** Calls `callback` with the id once the container is created, before it is started. */
  onCreated(callback: (containerId: string) => void): this {
    this.#onCreated = callback;
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    this.#onCreated?.(containerId);
  }
}
