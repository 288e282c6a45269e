import { describe, expect, it } from "vitest";
import { EngineError, isKeyholeError } from "./errors.js";
import { containsSecret, REDACTED, redact, registerSecretValue } from "./redact.js";

describe("redact", () => {
  it("removes a registered value, its base64 and its trimmed form", () => {
    const off = registerSecretValue("hunter2-value\n");
    expect(redact("pw=hunter2-value!")).toBe(`pw=${REDACTED}!`);
    expect(redact(Buffer.from("hunter2-value\n").toString("base64"))).toBe(REDACTED);
    off();
    expect(redact("pw=hunter2-value")).toBe("pw=hunter2-value");
  });

  it("removes printable runs of binary values", () => {
    const off = registerSecretValue(new Uint8Array([0, ...Buffer.from("abcdef"), 0, 1]));
    expect(containsSecret("x abcdef y")).toBe(true);
    off();
  });

  it("redacts values passed as extra, longest first", () => {
    expect(redact("abc abcdef", ["abc", "abcdef"])).toBe(`${REDACTED} ${REDACTED}`);
  });

  it("keeps a value out of error messages and causes, even inside engine text", () => {
    const off = registerSecretValue("s3cr3t-token");
    const e = new EngineError("podman-file", "engine said: bad value s3cr3t-token.", {
      cause: new Error("raw s3cr3t-token"),
    });
    expect(e.message).toBe(`[keyhole] [podman-file] engine said: bad value ${REDACTED}.`);
    expect(String((e.cause as Error).message)).not.toContain("s3cr3t-token");
    expect(isKeyholeError(e, "ENGINE_ERROR")).toBe(true);
    off();
  });
});
