import { constants } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** A FIFO that hands the same bytes to every reader until it is closed. */
export interface FifoServer {
  /** How many readers got the bytes. */
  readonly served: number;
  /** Stops serving and removes the FIFO. Safe to call twice. */
  close(): Promise<void>;
}

/** How long to wait between attempts to find a reader (ms). */
const POLL_MS = 5;

/**
 * Serves `bytes` through the FIFO at `path` (made beforehand, e.g. `mkfifo -m 600`): each time a
 * reader opens it, the reader gets the bytes and then EOF. This is how Compose gets the env file
 * of `environment:` sources without the value ever resting in a file or in any process's
 * environment: the bytes go from this process's memory through a pipe into Compose's memory.
 * Compose 2.26 opens its env file about eight times during one `up`, so a single pipe (stdin)
 * is not enough.
 *
 * The FIFO is opened with `O_NONBLOCK` and polled (`ENXIO` = no reader yet) rather than with a
 * blocking open, which would hold one of libuv's four threads per FIFO until a reader came.
 * When a reader opened the FIFO again before the previous copy was consumed, it may get the
 * bytes twice in a row; for an env file of `NAME='value'` lines that is the same content.
 */
export function serveFifo(path: string, bytes: Uint8Array): FifoServer {
  let stopped = false;
  let served = 0;
  const loop = (async () => {
    while (!stopped) {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENXIO") {
          await sleep(POLL_MS);
          continue;
        }
        if (code === "ENOENT") return; // removed: nothing more to serve
        throw error;
      }
      try {
        await writeAll(handle, bytes);
        served += 1;
      } catch (error) {
        // EPIPE: the reader went away early; the next one gets a fresh copy.
        if ((error as NodeJS.ErrnoException).code !== "EPIPE") throw error;
      } finally {
        await handle.close();
      }
      // Let the reader see EOF before offering the next copy.
      await sleep(POLL_MS);
    }
  })();
  // A failure ends serving; the Compose run that needed it fails on its own and says so.
  loop.catch(() => {});
  return {
    get served() {
      return served;
    },
    async close() {
      stopped = true;
      await loop.catch(() => {});
      await unlink(path).catch(() => {});
    },
  };
}

/** Writes all of `bytes` to a non-blocking pipe, waiting while it is full (EAGAIN). */
async function writeAll(
  handle: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      await sleep(POLL_MS);
    }
  }
}
