import { describe, expect, it } from "vitest";
import { isKeyholeError, KeyholeError } from "./errors.js";
import type { Capabilities, SecretHandle } from "./types.js";
import {
  validateEnvName,
  validateFileTarget,
  validateId,
  validateMode,
  validateRunSpec,
  validateSecretName,
} from "./validate.js";
import { validateValue } from "./value.js";

const ID = "test-backend";

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeyholeError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a KeyholeError");
}

const all: Capabilities = {
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
};

function handle(name: string, extra: Partial<SecretHandle> = {}): SecretHandle {
  return { name, id: `id-${name}`, backendId: ID, labels: {}, size: 3, envSafe: true, ...extra };
}

describe("validateSecretName", () => {
  it.each([
    ["a/b"],
    ["a=b"],
    ["a,b"],
    ["a\0b"],
    ["a b"],
    ["a\tb"],
    ["-rf"],
    ["$(id)"],
    ["a;b"],
    ["a|b"],
    ["`x`"],
    ["a..b"],
    [".."],
    [".hidden"],
  ])("rejects %j with INVALID_INPUT", (name) => {
    const { code, message } = codeOf(() => validateSecretName(ID, name));
    expect(code).toBe("INVALID_INPUT");
    expect(message).toBe(
      `[keyhole] [${ID}] The secret name ${JSON.stringify(name)} is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".`,
    );
  });

  it("rejects an empty name and says what to use", () => {
    expect(codeOf(() => validateSecretName(ID, "")).message).toBe(
      `[keyhole] [${ID}] A secret name must not be empty. Use e.g. "db-password".`,
    );
  });

  it("rejects a name longer than 64 characters", () => {
    const r = codeOf(() => validateSecretName(ID, "a".repeat(65)));
    expect(r.code).toBe("INVALID_INPUT");
    expect(r.message).toContain("is 65 characters; at most 64 are allowed");
  });

  it("rejects a non-string", () => {
    expect(codeOf(() => validateSecretName(ID, 42)).message).toBe(
      `[keyhole] [${ID}] A secret name must be a string, got a number.`,
    );
  });

  it.each([["abc-"], ["abc."], ["abc_"], ["a-"]])(
    "rejects %j: Podman 4.3 and Swarm need a letter or digit at both ends",
    (name) => {
      const { code, message } = codeOf(() => validateSecretName(ID, name));
      expect(code).toBe("INVALID_INPUT");
      expect(message).toBe(
        `[keyhole] [${ID}] The secret name ${JSON.stringify(name)} ends with ${JSON.stringify(name.slice(-1))}; engines need the last character to be a letter or digit. Use e.g. ${JSON.stringify(`${name.slice(0, -1)}1`)}.`,
      );
    },
  );

  it("accepts ordinary names", () => {
    for (const n of ["db", "db-password", "runner.token_1", "A", "a".repeat(64), "a_b.c-d9"]) {
      expect(validateSecretName(ID, n)).toBe(n);
    }
  });
});

describe("validateEnvName", () => {
  it.each([[""], ["1A"], ["A-B"], ["A B"], ["A=B"], ["A\0"]])("rejects %j", (name) => {
    expect(codeOf(() => validateEnvName(ID, name)).code).toBe("INVALID_INPUT");
  });
  it("accepts API_TOKEN and _x", () => {
    expect(validateEnvName(ID, "API_TOKEN")).toBe("API_TOKEN");
    expect(validateEnvName(ID, "_x")).toBe("_x");
  });
});

describe("validateFileTarget", () => {
  it("puts relative targets under /run/secrets", () => {
    expect(validateFileTarget(ID, "token", false)).toBe("/run/secrets/token");
    expect(validateFileTarget(ID, "dir/token", false)).toBe("/run/secrets/dir/token");
  });
  it.each([["../etc/passwd"], ["/run/secrets/../../etc/x"], ["a//b"], ["./x"], ["/run/secrets/"]])(
    "rejects traversal or odd segments in %j",
    (t) => {
      expect(codeOf(() => validateFileTarget(ID, t, true)).message).toBe(
        `[keyhole] [${ID}] The file target ${JSON.stringify(t)} is not a plain path (it has "..", "." or an empty segment). Use e.g. "/run/secrets/token".`,
      );
    },
  );
  it("rejects absolute paths outside /run/secrets unless allowed", () => {
    expect(codeOf(() => validateFileTarget(ID, "/etc/token", false)).message).toBe(
      `[keyhole] [${ID}] The file target "/etc/token" is outside /run/secrets. Use a path under /run/secrets/, or set allowTargetOutsideSecretsDir: true on the run.`,
    );
    expect(validateFileTarget(ID, "/etc/token", true)).toBe("/etc/token");
  });
  it.each([["a,b"], ["/run/secrets/a,b"], ["/etc/x,mode=0777"]])(
    "rejects %j: a comma breaks the option syntax of engine CLIs (--secret src,target=…)",
    (t) => {
      expect(codeOf(() => validateFileTarget(ID, t, true)).message).toBe(
        `[keyhole] [${ID}] The file target ${JSON.stringify(t)} contains ",", which engine CLIs read as an option separator (--secret name,target=…). Use a path without ",".`,
      );
    },
  );
  it("rejects /run/secretsX (prefix without the slash)", () => {
    expect(codeOf(() => validateFileTarget(ID, "/run/secretsX", false)).code).toBe("INVALID_INPUT");
  });
  it("rejects NUL", () => {
    expect(codeOf(() => validateFileTarget(ID, "a\0b", false)).code).toBe("INVALID_INPUT");
  });
});

describe("validateId and validateMode", () => {
  it.each([[-1], [2 ** 32 - 1], [1.5], [Number.NaN], ["2000"]])("rejects uid %j", (v) => {
    expect(codeOf(() => validateId(ID, "uid", v)).code).toBe("INVALID_INPUT");
  });
  it("accepts 0 and 2^32-2", () => {
    expect(validateId(ID, "gid", 0)).toBe(0);
    expect(validateId(ID, "gid", 2 ** 32 - 2)).toBe(2 ** 32 - 2);
  });
  it('treats a string mode like "0400" as a type error', () => {
    expect(codeOf(() => validateMode(ID, "0400")).message).toBe(
      `[keyhole] [${ID}] The mode must be a number, got a string "0400". Write an octal literal, e.g. mode: 0o400.`,
    );
  });
  it.each([[-1], [0o1000], [0.5]])("rejects mode %j", (m) => {
    expect(codeOf(() => validateMode(ID, m)).code).toBe("INVALID_INPUT");
  });
  it("accepts 0 and 0o777", () => {
    expect(validateMode(ID, 0)).toBe(0);
    expect(validateMode(ID, 0o777)).toBe(0o777);
  });
});

describe("validateValue", () => {
  it("rejects empty values and non-values", () => {
    expect(codeOf(() => validateValue(ID, "", 10)).message).toBe(
      `[keyhole] [${ID}] A secret value must not be empty. Pass at least one byte.`,
    );
    expect(codeOf(() => validateValue(ID, 5, 10)).code).toBe("INVALID_INPUT");
  });
  it("rejects values over the maximum with SECRET_TOO_LARGE", () => {
    expect(codeOf(() => validateValue(ID, "x".repeat(11), 10)).message).toBe(
      `[keyhole] [${ID}] The value is 11 bytes; this backend accepts at most 10. Store a smaller value, or a reference to it.`,
    );
  });
  it("counts bytes, not characters", () => {
    expect(codeOf(() => validateValue(ID, "é".repeat(6), 10)).code).toBe("SECRET_TOO_LARGE");
    expect(validateValue(ID, new Uint8Array([0, 1, 2]), 10)).toHaveLength(3);
  });
});

describe("validateRunSpec", () => {
  const image = "localhost/keyhole-probe:x";
  it("normalises deliveries", () => {
    const n = validateRunSpec(ID, all, {
      image,
      secrets: [
        { secret: handle("a"), as: "file" },
        { secret: handle("b"), as: "file", target: "/tmp/b" },
        { secret: handle("c"), as: "env", name: "C" },
      ],
      allowTargetOutsideSecretsDir: true,
    });
    expect(n.files.map((f) => f.target)).toEqual(["/run/secrets/a", "/tmp/b"]);
    expect(n.env.map((e) => e.name)).toEqual(["C"]);
  });
  it("rejects duplicate targets", () => {
    const r = codeOf(() =>
      validateRunSpec(ID, all, {
        image,
        secrets: [
          { secret: handle("a"), as: "file", target: "x" },
          { secret: handle("b"), as: "file", target: "/run/secrets/x" },
        ],
      }),
    );
    expect(r.message).toBe(
      `[keyhole] [${ID}] Two deliveries target /run/secrets/x. Give each its own target.`,
    );
  });
  it("rejects env delivery on a backend without it as UNSUPPORTED_DELIVERY", () => {
    const r = codeOf(() =>
      validateRunSpec(
        ID,
        { ...all, envDelivery: false },
        {
          image,
          secrets: [{ secret: handle("a"), as: "env", name: "A" }],
        },
      ),
    );
    expect(r.code).toBe("UNSUPPORTED_DELIVERY");
    expect(r.message).toContain('Deliver it as a file: { as: "file" }');
  });
  it("rejects a NUL-holding value as env", () => {
    const r = codeOf(() =>
      validateRunSpec(ID, all, {
        image,
        secrets: [{ secret: handle("a", { envSafe: false }), as: "env", name: "A" }],
      }),
    );
    expect(r.code).toBe("INVALID_INPUT");
    expect(r.message).toContain("contains a NUL byte");
  });
  it("rejects options the backend cannot honour", () => {
    const caps = {
      ...all,
      fileOwnership: false,
      fileMode: false,
      scrubAfterUse: false,
      capDrop: false,
    };
    const base = { image, secrets: [] };
    const file = (extra: object) => ({
      ...base,
      secrets: [{ secret: handle("a"), as: "file", ...extra }],
    });
    for (const spec of [
      file({ uid: 1 }),
      file({ mode: 0o400 }),
      file({ scrub: true }),
      { ...base, capDrop: ["DAC_OVERRIDE"] },
    ]) {
      expect(codeOf(() => validateRunSpec(ID, caps, spec)).code).toBe("UNSUPPORTED_DELIVERY");
    }
  });
  it("rejects a handle from another backend", () => {
    const r = codeOf(() =>
      validateRunSpec(ID, all, {
        image,
        secrets: [{ secret: handle("a", { backendId: "other" }), as: "file" }],
      }),
    );
    expect(r.message).toContain('was created by backend "other", not this one');
  });
  it("rejects a missing image", () => {
    const r = codeOf(() => validateRunSpec(ID, all, { image: "" }));
    expect(r.code).toBe("INVALID_INPUT");
    expect(isKeyholeError(new Error("x"))).toBe(false);
  });
});
