import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isKeyholeError,
  type KeyholeErrorCode,
  type RunSpec,
  type SecretBackend,
  type SecretHandle,
} from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { podmanFileBackend, podmanPassBackend } from "./index.js";

// Every backend here points at a podman binary that does not exist: had any check below let
// a call through to the engine, it would fail with ENGINE_UNAVAILABLE instead of the
// expected code, and keyhole's private directory would have been created.
const NO_PODMAN = "/nonexistent/podman";

async function expectError(
  promise: Promise<unknown>,
  code: KeyholeErrorCode,
  message: string,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeyholeError(error), `expected a KeyholeError, got ${String(error)}`).toBe(true);
  expect((error as Error & { code: string }).code).toBe(code);
  expect((error as Error).message).toBe(message);
}

function handle(backend: SecretBackend, name: string, envSafe = true): SecretHandle {
  return {
    name,
    id: `fake-${name}`,
    backendId: backend.id,
    labels: {},
    size: 4,
    envSafe,
  };
}

function untouched(backend: SecretBackend): void {
  expect(existsSync(join(tmpdir(), `keyhole-podman-${backend.runId}`))).toBe(false);
}

describe.each([
  ["podman-file", () => podmanFileBackend({ podmanPath: NO_PODMAN })],
  ["podman-pass", () => podmanPassBackend({ podmanPath: NO_PODMAN })],
] as const)("%s validation before any engine call", (id, make) => {
  const p = `[keyhole] [${id}]`;
  const allowed =
    'Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".';

  it.each([["a/b"], ["a=b"], ["a,b"], ["a\0b"], ["a b"], ["-leading"], ["a$b"], ["a;b"], ["a..b"]])(
    "rejects the secret name %j",
    async (name) => {
      const backend = make();
      await expectError(
        backend.createSecret(name, "value"),
        "INVALID_INPUT",
        `${p} The secret name ${JSON.stringify(name)} is not allowed. ${allowed}`,
      );
      untouched(backend);
    },
  );

  it("rejects an empty and a too long secret name", async () => {
    const backend = make();
    await expectError(
      backend.createSecret("", "value"),
      "INVALID_INPUT",
      `${p} A secret name must not be empty. Use e.g. "db-password".`,
    );
    const long = "a".repeat(65);
    await expectError(
      backend.createSecret(long, "value"),
      "INVALID_INPUT",
      `${p} The secret name "${long}" is 65 characters; at most 64 are allowed. Use a shorter name.`,
    );
    untouched(backend);
  });

  it("rejects a name Podman would refuse (core's rule): it must end with a letter or digit", async () => {
    const backend = make();
    await expectError(
      backend.createSecret("db-", "value"),
      "INVALID_INPUT",
      `${p} The secret name "db-" ends with "-"; engines need the last character to be a letter or digit. Use e.g. "db1".`,
    );
    untouched(backend);
  });

  it("podman-pass declares its pass store and GnuPG home in engine.storage (what the suite scans)", () => {
    const given = podmanPassBackend({
      gpgHome: "/srv/keyhole-test/gnupg",
      storeDir: "/srv/keyhole-test/store",
      key: "ABCDEF",
    });
    expect(given.engine.storage).toEqual([
      { path: "/srv/keyhole-test/store", kind: "store" },
      { path: "/srv/keyhole-test/gnupg", kind: "engine" },
    ]);
    const throwaway = podmanPassBackend();
    expect(throwaway.engine.storage?.map((s) => s.kind)).toEqual(["store", "engine"]);
    expect(throwaway.engine.env).not.toHaveProperty("PASSWORD_STORE_DIR");
    expect(podmanFileBackend().engine.storage).toBeUndefined();
  });

  it("rejects an empty value and a value over 511999 bytes", async () => {
    const backend = make();
    await expectError(
      backend.createSecret("db", ""),
      "INVALID_INPUT",
      `${p} A secret value must not be empty. Pass at least one byte.`,
    );
    await expectError(
      backend.createSecret("db", new Uint8Array(512_000)),
      "SECRET_TOO_LARGE",
      `${p} The value is 512000 bytes; this backend accepts at most 511999. Store a smaller value, or a reference to it.`,
    );
    await expectError(
      backend.createSecret("db", 42 as unknown as string),
      "INVALID_INPUT",
      `${p} A secret value must be a string or a Uint8Array, got a number. Pass the value itself, e.g. createSecret("db", "…").`,
    );
    untouched(backend);
  });

  it("rejects labels that are not string values", async () => {
    const backend = make();
    await expectError(
      backend.createSecret("db", "v", { labels: { team: 1 as unknown as string } }),
      "INVALID_INPUT",
      `${p} labels must be an object of non-empty names to string values, e.g. { team: "ci" }.`,
    );
    untouched(backend);
  });

  it("refuses replaceSecret until ready() found Podman >= 4.7", async () => {
    const backend = make();
    expect(backend.capabilities.replaceInPlace).toBe(false);
    await expectError(
      backend.replaceSecret(handle(backend, "db"), "new"),
      "UNSUPPORTED_DELIVERY",
      `${p} Replacing the secret "db" in place needs Podman 4.7 (\`podman secret create --replace\`), and this backend has not asked the engine its version yet: call ready() first. Otherwise remove it and create it again; running containers keep their copy.`,
    );
    untouched(backend);
  });

  describe("run specs", () => {
    const image = "localhost/keyhole-probe:any";
    const cases: Array<[string, (b: SecretBackend) => RunSpec, KeyholeErrorCode, string]> = [
      [
        "an env name starting with a digit",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "env", name: "1A" }] }),
        "INVALID_INPUT",
        'The environment variable name "1A" is not allowed. Use letters, digits and "_", not starting with a digit, e.g. "API_TOKEN".',
      ],
      [
        "an env name with a dash",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "env", name: "A-B" }] }),
        "INVALID_INPUT",
        'The environment variable name "A-B" is not allowed. Use letters, digits and "_", not starting with a digit, e.g. "API_TOKEN".',
      ],
      [
        "a plain env name with =",
        () => ({ image, env: { "A=B": "x" } }),
        "INVALID_INPUT",
        'The environment variable name "A=B" is not allowed. Use letters, digits and "_", not starting with a digit, e.g. "API_TOKEN".',
      ],
      [
        "a target escaping with ../",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", target: "../x" }] }),
        "INVALID_INPUT",
        'The file target "../x" is not a plain path (it has "..", "." or an empty segment). Use e.g. "/run/secrets/token".',
      ],
      [
        "an absolute target outside /run/secrets",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", target: "/etc/x" }] }),
        "INVALID_INPUT",
        'The file target "/etc/x" is outside /run/secrets. Use a path under /run/secrets/, or set allowTargetOutsideSecretsDir: true on the run.',
      ],
      [
        "two deliveries to one target",
        (b) => ({
          image,
          secrets: [
            { secret: handle(b, "s"), as: "file", target: "t" },
            { secret: handle(b, "u"), as: "file", target: "/run/secrets/t" },
          ],
        }),
        "INVALID_INPUT",
        "Two deliveries target /run/secrets/t. Give each its own target.",
      ],
      [
        "uid -1",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", uid: -1 }] }),
        "INVALID_INPUT",
        "The uid -1 is not allowed. Use an integer from 0 to 4294967294, e.g. uid: 2000.",
      ],
      [
        "uid 2^32-1",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", uid: 2 ** 32 - 1 }] }),
        "INVALID_INPUT",
        "The uid 4294967295 is not allowed. Use an integer from 0 to 4294967294, e.g. uid: 2000.",
      ],
      [
        "gid 1.5",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", gid: 1.5 }] }),
        "INVALID_INPUT",
        "The gid 1.5 is not allowed. Use an integer from 0 to 4294967294, e.g. gid: 2000.",
      ],
      [
        'mode "0400" (a string)',
        (b) => ({
          image,
          secrets: [{ secret: handle(b, "s"), as: "file", mode: "0400" as unknown as number }],
        }),
        "INVALID_INPUT",
        'The mode must be a number, got a string "0400". Write an octal literal, e.g. mode: 0o400.',
      ],
      [
        "mode 0o1000",
        (b) => ({ image, secrets: [{ secret: handle(b, "s"), as: "file", mode: 0o1000 }] }),
        "INVALID_INPUT",
        "The mode 512 (0o1000) is not allowed. Use an integer from 0 to 0o777, e.g. mode: 0o400.",
      ],
      [
        "a NUL-holding secret as env",
        (b) => ({ image, secrets: [{ secret: handle(b, "bin", false), as: "env", name: "BIN" }] }),
        "INVALID_INPUT",
        'The secret "bin" contains a NUL byte, which an environment variable cannot carry (BIN). Deliver it as a file.',
      ],
      [
        "one secret as two files (Podman shares one copy per secret)",
        (b) => ({
          image,
          secrets: [
            { secret: handle(b, "s"), as: "file", target: "a" },
            { secret: handle(b, "s"), as: "file", target: "b" },
          ],
        }),
        "UNSUPPORTED_DELIVERY",
        'The secret "s" is delivered as a file twice in one run; Podman would give both files one owner and mode. Create a second secret for the second file.',
      ],
      [
        "a handle this backend never created",
        (b) => ({ image, secrets: [{ secret: handle(b, "ghost"), as: "file" }] }),
        "SECRET_NOT_FOUND",
        'The secret "ghost" was removed (or not created by this backend instance). Create it again with createSecret().',
      ],
      [
        "a handle of another backend",
        () => ({
          image,
          secrets: [
            {
              secret: {
                name: "x",
                id: "x",
                backendId: "docker",
                labels: {},
                size: 1,
                envSafe: true,
              },
              as: "file",
            },
          ],
        }),
        "INVALID_INPUT",
        'The secret "x" was created by backend "docker", not this one. Create it with this backend\'s createSecret().',
      ],
      [
        "no image",
        () => ({ image: "" }),
        "INVALID_INPUT",
        'A run needs an image. Use the probe image: `const image = await ensureProbeImage("podman")` from @keyhole/probe.',
      ],
    ];
    it.each(cases)("rejects %s", async (_what, spec, code, message) => {
      const backend = make();
      await expectError(backend.run(spec(backend)), code, `${p} ${message}`);
      untouched(backend);
    });
  });

  it("reports a missing podman as ENGINE_UNAVAILABLE with the fix, and leaves no directory", async () => {
    const backend = make();
    await expectError(
      backend.ready(),
      "ENGINE_UNAVAILABLE",
      `${p} Podman is not installed: "${NO_PODMAN}" was not found. Fix: apt-get install podman (in the keyhole repository: node scripts/setup.mjs)`,
    );
    untouched(backend);
    await backend.dispose();
  });
});

describe("backend options", () => {
  it.each(["../x", "a/b", "", "-x", "a".repeat(41)])("refuses the run id %j", (runId) => {
    expect(() => podmanFileBackend({ runId })).toThrow(
      `[keyhole] [podman-file] The run id ${JSON.stringify(runId)} is not allowed. Use up to 40 letters, digits, "_", "." and "-", starting with a letter or digit, or omit it for a random one.`,
    );
  });
});

describe("podmanPassBackend options", () => {
  it("needs gpgHome and storeDir together", () => {
    expect(() => podmanPassBackend({ gpgHome: "/tmp/x" })).toThrow(
      "[keyhole] [podman-pass] Give gpgHome and storeDir together (key is optional: it defaults to storeDir/.gpg-id), or neither for a throwaway store.",
    );
    expect(() => podmanPassBackend({ key: "ABCD" })).toThrow(
      "[keyhole] [podman-pass] key needs gpgHome and storeDir: a throwaway store makes its own key. Remove key, or give all three.",
    );
  });

  it("declares encryption at rest for pass only", () => {
    expect(podmanPassBackend().capabilities.encryptedAtRest).toBe(true);
    expect(podmanFileBackend().capabilities.encryptedAtRest).toBe(false);
  });
});
