import { redact } from "./redact.js";

/** A cleanup step; errors are collected, never stop the other steps. */
export type CleanupStep = () => Promise<void> | void;

const active = new Set<CleanupStep>();
let installed = false;
let running: Promise<void> | undefined;

/**
 * Registers `step` to run if the process is interrupted (SIGINT, SIGTERM, SIGHUP) or dies of an
 * uncaught error before the step is unregistered. Backends register their `dispose` here, so
 * Ctrl-C leaves nothing behind. Returns the function that unregisters it.
 *
 * After cleanup the signal is re-raised with the default handler, so the exit status is the
 * usual one for that signal (130 for Ctrl-C).
 */
export function registerCleanup(step: CleanupStep): () => void {
  install();
  active.add(step);
  return () => {
    active.delete(step);
  };
}

/** Runs every registered cleanup step once (in reverse registration order) and forgets them. */
export function runAllCleanups(): Promise<void> {
  if (running) return running;
  const steps = [...active].reverse();
  active.clear();
  running = (async () => {
    for (const step of steps) {
      try {
        await step();
      } catch {
        // One failed step must not stop the others; each backend reports its own leftovers.
      }
    }
  })().finally(() => {
    running = undefined;
  });
  return running;
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      // Re-raising after cleanup (rather than process.exit) keeps the conventional exit status
      // and lets other libraries' handlers (testcontainers' signal-exit) run too.
      void runAllCleanups().finally(() => {
        process.kill(process.pid, signal);
      });
    });
  }
  // Under vitest the runner owns uncaught errors; a handler here would hide them from it.
  if (process.env.VITEST) return;
  process.once("uncaughtException", (error) => {
    void runAllCleanups().finally(() => {
      // An uncaught error may come from anywhere (an engine client, user code) and quote a
      // value; it goes through the same redaction as keyhole's own messages.
      console.error(
        redact(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      );
      process.exit(1);
    });
  });
}
