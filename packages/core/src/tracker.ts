import { registerCleanup } from "./cleanup.js";
import { EngineError } from "./errors.js";

/**
 * Remembers what a backend created, newest first, so `dispose()` can remove all of it even
 * after a failed step, and a Ctrl-C does the same through {@link registerCleanup}.
 */
export class ResourceTracker {
  readonly #backendId: string;
  readonly #items = new Map<string, () => Promise<void>>();
  #unregister: (() => void) | undefined;

  constructor(backendId: string) {
    this.#backendId = backendId;
  }

  /** Remembers `remove` under `key` (e.g. `container:<id>`); replaces an earlier entry. */
  add(key: string, remove: () => Promise<void>): void {
    this.#unregister ??= registerCleanup(() => this.disposeAll());
    this.#items.delete(key);
    this.#items.set(key, remove);
  }

  /** Forgets `key` (after it was removed on purpose). */
  forget(key: string): void {
    this.#items.delete(key);
  }

  /** True when `key` is tracked. */
  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Keys tracked, oldest first. */
  keys(): string[] {
    return [...this.#items.keys()];
  }

  /**
   * Removes everything, newest first (containers before the secrets they use). Tries every
   * item; throws one `ENGINE_ERROR` naming what could not be removed.
   */
  async disposeAll(): Promise<void> {
    const entries = [...this.#items.entries()].reverse();
    const failed: string[] = [];
    for (const [key, remove] of entries) {
      try {
        await remove();
        this.#items.delete(key);
      } catch (error) {
        failed.push(`${key} (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    if (this.#items.size === 0) {
      this.#unregister?.();
      this.#unregister = undefined;
    }
    if (failed.length > 0) {
      throw new EngineError(
        this.#backendId,
        `Could not remove ${failed.length} object(s): ${failed.join("; ")}. Run \`keyhole gc\` to remove every object labelled keyhole.`,
      );
    }
  }
}
