import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readTokenFile } from "./token-file.js";

describe("readTokenFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "runner-token-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a 0600 token file and drops the trailing newline", async () => {
    const file = join(dir, "ok");
    writeFileSync(file, "glrt-abc123\n", { mode: 0o600 });
    expect(await readTokenFile(file)).toBe("glrt-abc123");
  });

  it("refuses a file that group or others can read, saying how to fix it", async () => {
    const file = join(dir, "open");
    writeFileSync(file, "glrt-abc123\n");
    chmodSync(file, 0o644);
    await expect(readTokenFile(file)).rejects.toThrow(
      `[keyhole] [runner-registration] The token file ${JSON.stringify(file)} has mode 0644: group or others can read it. Run \`chmod 600 ${file}\` (and rotate the token if others may have read it).`,
    );
  });

  it("refuses a missing file and a file with two lines", async () => {
    await expect(readTokenFile(join(dir, "missing"))).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    const file = join(dir, "two");
    writeFileSync(file, "glrt-a\nglrt-b\n", { mode: 0o600 });
    await expect(readTokenFile(file)).rejects.toThrow("must hold one token on one line");
  });
});
