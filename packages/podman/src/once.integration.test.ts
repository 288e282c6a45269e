import { raceReadOnce } from "@keyhole/conformance";
import { isKeyholeError } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { describe, expect, it } from "vitest";
import { podmanFileBackend } from "./index.js";

// Read-once on the real engine: 50 rounds of two readers racing for one FIFO each (100 kB
// values, more than a pipe holds), and a run stopped before anyone read. The host scans during
// a read-once run are the catalogue's once.no-host-copy and once.host-argv-environ, which the
// conformance test of this package runs.
describe("read-once on podman-file", () => {
  it("50 racing rounds: exactly one reader gets all of each value, the other nothing", async () => {
    const image = await ensureProbeImage("podman");
    await using backend = podmanFileBackend();
    const r = await raceReadOnce(backend, { image, rounds: 50 });
    console.log(`[podman-file] read-once race: ${JSON.stringify(r)}`);
    expect(r.problems).toEqual([]);
    expect(r.oneWinner).toBe(50);
    expect(r.loserEnoent + r.loserEof).toBe(50);
    expect(r.split + r.both + r.nobody + r.notConsumed).toBe(0);
  }, 900_000);

  it("a run stopped before anyone read: consumed() rejects, nothing was delivered", async () => {
    const image = await ensureProbeImage("podman");
    await using backend = podmanFileBackend();
    const w = await backend.run({
      image,
      command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
      secrets: [{ as: "file", once: true, value: "never-read-value", target: "token", uid: 2000 }],
    });
    const ls = await w.exec(["ls", "-l", "/run/keyhole-once/token"], { user: "0" });
    expect(ls.stdout).toMatch(/^p/);
    const consumed = w.consumed?.("token");
    await w.stop();
    const error = await consumed?.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKeyholeError(error, "ENGINE_ERROR")).toBe(true);
    expect(String(error)).not.toContain("never-read-value");
  }, 300_000);
});
