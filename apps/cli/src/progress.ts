import { paint } from "./ansi.js";

/** One step of a comparison, as the progress display sees it. */
export interface ProgressEvent {
  /** The backend the step ran on. */
  backendId: string;
  /** The check that is running or just finished. */
  checkId: string;
  /** 1-based position of the check among this backend's checks. */
  index: number;
  /** How many checks this backend runs. */
  total: number;
  /** The outcome, when the check has finished. */
  outcome?: string;
}

/** Shows a comparison's progress on stderr. */
export interface Progress {
  /** Announces the backends about to run (shown as "starting" until their first check). */
  begin(backendIds: readonly string[]): void;
  /** Records a step. */
  update(event: ProgressEvent): void;
  /** Prints a line that stays (e.g. "docker not available: …"). */
  note(text: string): void;
  /** Clears the live display. */
  done(): void;
}

/** A stream progress can write to (process.stderr, or a fake in tests). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * The progress display for `stream`: on a TTY, one live line per backend (`backend  n/m
 * check`) redrawn in place; otherwise one plain line per finished check, which reads well in
 * CI logs. `quiet` shows nothing.
 *
 * @example
 * ```ts
 * const progress = createProgress(process.stderr, { color: true, quiet: false });
 * ```
 */
export function createProgress(
  stream: ProgressStream,
  options: { color: boolean; quiet: boolean },
): Progress {
  if (options.quiet) return { begin() {}, update() {}, note() {}, done() {} };
  if (!stream.isTTY) {
    return {
      begin(ids) {
        stream.write(`running the checks on ${ids.join(", ")}\n`);
      },
      update(e) {
        if (e.outcome !== undefined) {
          stream.write(`[${e.backendId}] ${e.index}/${e.total} ${e.checkId}: ${e.outcome}\n`);
        }
      },
      note(text) {
        stream.write(`${text}\n`);
      },
      done() {},
    };
  }
  const order: string[] = [];
  const state = new Map<string, ProgressEvent | undefined>();
  let drawn = 0;
  const clear = () => {
    // Cursor up over the lines drawn last time, then clear to the end of the screen.
    if (drawn > 0) stream.write(`\u001b[${drawn}F\u001b[0J`);
    drawn = 0;
  };
  const draw = () => {
    clear();
    for (const id of order) {
      const e = state.get(id);
      if (!e) {
        // Before the first check a backend is checking its engine and starting its workloads.
        stream.write(`${paint(options.color, id.padEnd(14), "bold")} starting containers…\n`);
        continue;
      }
      const width = String(e.total).length;
      const count = `${String(e.index).padStart(width)}/${e.total}`;
      const status = e.index >= e.total && e.outcome !== undefined ? "done" : e.checkId;
      stream.write(`${paint(options.color, id.padEnd(14), "bold")} ${count}  ${status}\n`);
    }
    drawn = order.length;
  };
  return {
    begin(ids) {
      for (const id of ids) {
        if (!state.has(id)) order.push(id);
        state.set(id, undefined);
      }
      draw();
    },
    update(e) {
      if (!state.has(e.backendId)) order.push(e.backendId);
      state.set(e.backendId, e);
      draw();
    },
    note(text) {
      clear();
      stream.write(`${text}\n`);
      draw();
    },
    done() {
      clear();
    },
  };
}
