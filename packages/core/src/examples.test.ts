import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";
import { redact } from "./index.js";

describe("README example", () => {
  it("examples/minimal.ts prints typed errors and never the registered value", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
    expect(lines).toEqual([
      'INVALID_INPUT: [keyhole] [my-backend] The secret name "../../etc/shadow" is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".',
      'INVALID_INPUT: [keyhole] [my-backend] The mode must be a number, got a string "0400". Write an octal literal, e.g. mode: 0o400.',
      "git clone https://ci:[REDACTED]@git.example.com/app.git",
      'ENGINE_ERROR: secret "runner" rejected: value [REDACTED] fails the policy',
    ]);
    expect(lines.join("\n")).not.toContain("glrt-example-token");
    // The example unregistered its value again: redaction of it is reference counted.
    expect(redact("glrt-example-token")).toBe("glrt-example-token");
  });
});
