import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { ensureProbeImage } from "@keyhole/probe";
import { describe, expect, it } from "vitest";
import { podmanFileBackend, podmanPassBackend } from "./index.js";
import { startProcScanner } from "./test-helpers.js";

describe.each([
  ["podman-file", () => podmanFileBackend()],
  ["podman-pass", () => podmanPassBackend()],
] as const)("%s hygiene", (_id, make) => {
  it("hygiene.no-value-in-host-argv-env: create, run, exec and dispose while every host process is scanned", async () => {
    const image = await ensureProbeImage("podman");
    const value = `hyg-${randomBytes(16).toString("hex")}`;
    // A positive control: a process that does carry a (different) marker in its argv, so a
    // scanner that sees nothing is known to be looking.
    const control = `ctl-${randomBytes(16).toString("hex")}`;
    const scanner = await startProcScanner([
      Buffer.from(value),
      Buffer.from(Buffer.from(value).toString("base64")),
      Buffer.from(control),
    ]);
    const marker = spawn("sh", ["-c", "sleep 30", control], { stdio: "ignore" });
    try {
      const backend = make();
      try {
        const secrets = [];
        for (let i = 0; i < 3; i++) {
          secrets.push(await backend.createSecret(`kh-hyg-${backend.runId}-${i}`, value));
        }
        const w = await backend.run({
          image,
          command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
          secrets: secrets.map((secret, i) => ({ secret, as: "file" as const, target: `s${i}` })),
        });
        // The consumer reads the file via stdin redirection, so its argv stays clean too.
        const r = await w.exec(["sh", "-c", "cat < /run/secrets/s0"]);
        expect(r.stdout).toBe(value);
      } finally {
        await backend.dispose();
      }
    } finally {
      marker.kill();
    }
    const { rounds, hits } = await scanner.stop();
    expect(rounds).toBeGreaterThan(0);
    expect(hits.filter((h) => h.needle === 2).length).toBeGreaterThan(0);
    expect(hits.filter((h) => h.needle !== 2)).toEqual([]);
  });
});
