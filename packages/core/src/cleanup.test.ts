import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The built entry (npm test builds before vitest): the handler is skipped under VITEST, so it
// is exercised in a plain child process.
const core = fileURLToPath(new URL("../dist/index.js", import.meta.url));

describe("registerCleanup on an uncaught error", () => {
  it("runs the cleanup, prints the error redacted and exits 1", () => {
    const value = `uncaught-${randomBytes(8).toString("hex")}`;
    const script = `
      const { registerCleanup, registerSecretValue } = await import(${JSON.stringify(core)});
      let value = "";
      for await (const chunk of process.stdin) value += chunk;
      registerSecretValue(value);
      registerCleanup(() => console.log("cleanup ran"));
      setTimeout(() => { throw new Error("engine said " + value); }, 0);`;
    const env = { ...process.env };
    delete env.VITEST;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      input: value,
      encoding: "utf8",
      env,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("cleanup ran");
    expect(r.stderr).toContain("Error: engine said [REDACTED]");
    expect(r.stdout + r.stderr).not.toContain(value);
  });
});
