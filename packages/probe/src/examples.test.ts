import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { podmanEnv } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { buildProbeArchive } from "./probe-archive.js";

describe("README example", () => {
  it("examples/minimal.ts loads the probe image into real Podman and prints its reference", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    const reference = buildProbeArchive().reference;
    expect(lines).toEqual([
      `podman has ${reference}`,
      "users: root (0), alice (2000), bob (3000)",
      `try: podman run --rm --network none ${reference} su -s /bin/sh bob -c id`,
    ]);
    // The engine, asked directly, has the image under that reference (exit 1 would reject).
    await promisify(execFile)("podman", ["image", "exists", reference], { env: podmanEnv() });
  });
});
