import { describe, expect, it } from "vitest";
import { KeyholeError } from "./errors.js";
import { startOnceDeliveries } from "./once.js";
import { ONCE_DIR, onceTmpfsDirs } from "./once-validate.js";
import type { Capabilities, ExecOptions, RunSpec } from "./types.js";
import { validateRunSpec } from "./validate.js";

const ID = "test-backend";

const caps: Capabilities = {
  envDelivery: true,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: true,
  targetOutsideSecretsDir: true,
  capDrop: true,
  engineSecretStore: true,
  encryptedAtRest: false,
  replaceInPlace: false,
  maxValueBytes: 100,
  binarySafe: true,
  readOnce: true,
};

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeyholeError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a KeyholeError");
}

const run = (secrets: unknown[], extra: Partial<RunSpec> = {}) =>
  ({ image: "img", secrets, ...extra }) as RunSpec;

describe("read-once validation", () => {
  it("normalises a plain name under /run/keyhole-once with owner, mode and a private copy", () => {
    const value = new Uint8Array([0, 1, 2, 255]);
    const n = validateRunSpec(
      ID,
      caps,
      run([{ as: "file", once: true, value, target: "token", uid: 2000, gid: 3000 }]),
    );
    expect(n.files).toEqual([]);
    expect(n.once).toHaveLength(1);
    const o = n.once[0]!;
    expect(o).toMatchObject({ target: `${ONCE_DIR}/token`, dir: ONCE_DIR, uid: 2000, gid: 3000 });
    expect(o.mode).toBe(0o400);
    expect([...o.bytes]).toEqual([0, 1, 2, 255]);
    // keyhole zeroes its own copy later, never the caller's buffer.
    expect(o.bytes).not.toBe(value);
    expect(onceTmpfsDirs(n.once)).toEqual([ONCE_DIR]);
  });

  it("is UNSUPPORTED_DELIVERY where the backend does not declare readOnce (absent or false)", () => {
    const d = { as: "file", once: true, value: "once-test-value", target: "t" };
    for (const c of [
      { ...caps, readOnce: false },
      { ...caps, readOnce: undefined },
    ]) {
      expect(codeOf(() => validateRunSpec(ID, c, run([d]))).code).toBe("UNSUPPORTED_DELIVERY");
    }
  });

  it("refuses contradictions first: a handle, or scrub", () => {
    const handle = { name: "s", id: "i", backendId: ID, labels: {}, size: 1, envSafe: true };
    const noCaps = { ...caps, readOnce: false };
    for (const extra of [{ secret: handle }, { scrub: true }, { scrub: false }]) {
      const d = { as: "file", once: true, value: "once-test-value", target: "t", ...extra };
      expect(codeOf(() => validateRunSpec(ID, noCaps, run([d]))).code).toBe("INVALID_INPUT");
    }
  });

  it("refuses a once flag that is not a boolean", () => {
    const handle = { name: "s", id: "i", backendId: ID, labels: {}, size: 1, envSafe: true };
    const d = { secret: handle, as: "file", once: "yes" };
    expect(codeOf(() => validateRunSpec(ID, caps, run([d]))).code).toBe("INVALID_INPUT");
  });

  it.each([
    ["", "needs a target"],
    ["a/b", "directory part"],
    ["/run/secrets/token", "outside"],
    ["/etc/token", "outside"],
    ["../x", "directory part"],
    [".kh-once-1", "reserved"],
    [".keyhole-once-ready", "reserved"],
  ])("refuses the target %j", (target, message) => {
    const d = { as: "file", once: true, value: "once-test-value", target };
    expect(codeOf(() => validateRunSpec(ID, caps, run([d]))).message).toContain(message);
  });

  it("with allowTargetOutsideSecretsDir takes other directories, but never system ones or the engine's secret mount", () => {
    const ok = validateRunSpec(
      ID,
      caps,
      run([{ as: "file", once: true, value: "once-test-value", target: "/srv/app/token" }], {
        allowTargetOutsideSecretsDir: true,
      }),
    );
    expect(onceTmpfsDirs(ok.once)).toEqual(["/srv/app"]);
    for (const target of ["/etc/token", "/run/secrets/t", "/token", "/usr/lib/x", "/proc/x"]) {
      const d = { as: "file", once: true, value: "once-test-value", target };
      const e = codeOf(() =>
        validateRunSpec(ID, caps, run([d], { allowTargetOutsideSecretsDir: true })),
      );
      expect(e.code, target).toBe("INVALID_INPUT");
    }
  });

  it("refuses an empty or too large value without quoting it", () => {
    const empty = { as: "file", once: true, value: "", target: "t" };
    expect(codeOf(() => validateRunSpec(ID, caps, run([empty]))).code).toBe("INVALID_INPUT");
    const big = { as: "file", once: true, value: "x".repeat(101), target: "t" };
    const e = codeOf(() => validateRunSpec(ID, caps, run([big])));
    expect(e.code).toBe("SECRET_TOO_LARGE");
    expect(e.message).not.toContain("xxxx");
  });

  it("refuses duplicate targets and plain files the read-once tmpfs would hide", () => {
    const d = { as: "file", once: true, value: "once-test-value", target: "t" };
    expect(codeOf(() => validateRunSpec(ID, caps, run([d, d]))).message).toContain(
      "Two deliveries",
    );
    const handle = { name: "s", id: "i", backendId: ID, labels: {}, size: 1, envSafe: true };
    const file = { secret: handle, as: "file", target: `${ONCE_DIR}/plain` };
    const e = codeOf(() =>
      validateRunSpec(ID, caps, run([d, file], { allowTargetOutsideSecretsDir: true })),
    );
    expect(e.message).toContain("hidden by the read-once tmpfs");
  });

  it("validates uid, gid and mode like file deliveries", () => {
    for (const bad of [{ uid: -1 }, { gid: 1.5 }, { mode: "0400" }, { mode: 0o1000 }]) {
      const d = { as: "file", once: true, value: "once-test-value", target: "t", ...bad };
      expect(codeOf(() => validateRunSpec(ID, caps, run([d]))).code).toBe("INVALID_INPUT");
    }
  });
});

describe("startOnceDeliveries (over a fake exec: the order of sessions and what they carry)", () => {
  const one = () =>
    validateRunSpec(
      ID,
      caps,
      run([{ as: "file", once: true, value: "the-value", target: "t", uid: 2000, mode: 0o440 }]),
    ).once;

  it("sets up every FIFO in one session, then feeds each value on a writer's stdin, never in argv", async () => {
    const calls: Array<{ argv: string[]; options: ExecOptions }> = [];
    let finish: (() => void) | undefined;
    const exec = async (argv: string[], options: ExecOptions) => {
      calls.push({ argv, options });
      if (calls.length === 1) return { exitCode: 0, stdout: "", stderr: "" };
      await new Promise<void>((r) => {
        finish = r;
      });
      return { exitCode: 0, stdout: "holders=12 \nconsumed\n", stderr: "" };
    };
    const once = one();
    const d = await startOnceDeliveries(ID, exec, once, { privileged: true });
    expect(calls[0]!.argv.slice(-3)).toEqual([`${ONCE_DIR}/t`, "2000:0", "440"]);
    expect(calls[0]!.options).toEqual({ user: "0", privileged: true });
    expect(calls[1]!.argv.at(-1)).toBe(`${ONCE_DIR}/t`);
    expect(calls.flatMap((c) => c.argv).join(" ")).not.toContain("the-value");
    expect(Buffer.from(calls[1]!.options.stdin as Uint8Array).toString()).toBe("the-value");
    const consumed = d.consumed("t");
    finish?.();
    expect(await consumed).toBeInstanceOf(Date);
    // keyhole's copy is zeroed once the writer is done.
    expect([...once[0]!.bytes].every((b) => b === 0)).toBe(true);
    await expect(d.consumed("other")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("rejects consumed() when the writer ends without a reader, and when setup fails", async () => {
    const writerFails = async (argv: string[]) =>
      argv.at(-3) === `${ONCE_DIR}/t`
        ? { exitCode: 0, stdout: "", stderr: "" }
        : { exitCode: 137, stdout: "", stderr: "killed" };
    const d = await startOnceDeliveries(ID, writerFails, one(), { privileged: false });
    await expect(d.consumed(`${ONCE_DIR}/t`)).rejects.toMatchObject({ code: "ENGINE_ERROR" });
    const setupFails = async () => ({ exitCode: 20, stdout: "", stderr: "no caps" });
    await expect(
      startOnceDeliveries(ID, setupFails, one(), { privileged: false }),
    ).rejects.toMatchObject({ code: "ENGINE_ERROR" });
  });
});
