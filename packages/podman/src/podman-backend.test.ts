import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isKeyholeError,
  type SecretBackend,
  type SecretHandle,
  type Workload,
} from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podmanFileBackend, podmanPassBackend } from "./index.js";
import { containersOfRun, podmanCli, secretsOfRun } from "./test-helpers.js";

// PID 1 exits on TERM, so a stop never waits for a grace period.
const IDLE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeyholeError(error), `expected a KeyholeError, got ${String(error)}`).toBe(true);
  return (error as { code: string }).code;
}

describe.each([
  ["podman-file", () => podmanFileBackend()],
  ["podman-pass", () => podmanPassBackend()],
] as const)("%s on real Podman", (id, make) => {
  let backend: SecretBackend;
  let image: string;
  let workload: Workload;
  const token = `tok-${randomBytes(12).toString("hex")}`;
  const owned = `owned-${randomBytes(12).toString("hex")}`;
  const readOnly = `ro-${randomBytes(12).toString("hex")}`;
  const scrubbed = `scrub-${randomBytes(12).toString("hex")}`;
  // NUL, newline, 0xff and every other byte value: binary-exact delivery.
  const binary = new Uint8Array([
    ...randomBytes(4000),
    0,
    10,
    255,
    ...Array.from({ length: 256 }, (_, i) => i),
  ]);
  const names = {
    token: `kh-token-${randomBytes(3).toString("hex")}`,
    owned: `kh-owned-${randomBytes(3).toString("hex")}`,
    readOnly: `kh-ro-${randomBytes(3).toString("hex")}`,
    scrubbed: `kh-scrub-${randomBytes(3).toString("hex")}`,
    binary: `kh-bin-${randomBytes(3).toString("hex")}`,
  };
  const handles: Record<string, SecretHandle> = {};

  beforeAll(async () => {
    image = await ensureProbeImage("podman");
    backend = make();
    expect((await backend.ready()).version).toMatch(/^\d+\.\d+/);
    handles.token = await backend.createSecret(names.token, token, { labels: { purpose: "env" } });
    handles.owned = await backend.createSecret(names.owned, owned);
    handles.readOnly = await backend.createSecret(names.readOnly, readOnly);
    handles.scrubbed = await backend.createSecret(names.scrubbed, scrubbed);
    handles.binary = await backend.createSecret(names.binary, binary);
    workload = await backend.run({
      image,
      command: IDLE,
      capDrop: ["DAC_OVERRIDE"],
      env: { PLAIN: "visible" },
      secrets: [
        { secret: handles.token!, as: "env", name: "API_TOKEN" },
        { secret: handles.owned!, as: "file", target: "owned", uid: 2000, gid: 2000, mode: 0o400 },
        { secret: handles.readOnly!, as: "file", target: "ro", mode: 0o444 },
        { secret: handles.scrubbed!, as: "file", target: "scrub", scrub: true },
        { secret: handles.binary!, as: "file" },
        // The env secret once more, as a file outside /run/secrets with the default mode.
        { secret: handles.token!, as: "file", target: "/etc/keyhole-token" },
      ],
      allowTargetOutsideSecretsDir: true,
    });
  });

  afterAll(async () => {
    const runId = backend?.runId;
    await backend?.dispose();
    if (!runId) return;
    // Oracle: the podman CLI itself, not the adapter.
    expect(await containersOfRun(runId)).toEqual([]);
    expect(await secretsOfRun(runId)).toEqual([]);
    expect(existsSync(join(tmpdir(), `keyhole-podman-${runId}`))).toBe(false);
  });

  it("labels what it creates (checked with the podman CLI)", async () => {
    const labels = JSON.parse(
      await podmanCli(["secret", "inspect", names.token, "--format", "{{json .Spec.Labels}}"]),
    ) as Record<string, string>;
    expect(labels).toEqual({
      purpose: "env",
      keyhole: "true",
      "keyhole.run": backend.runId,
      "keyhole.backend": id,
    });
    const driver = (
      await podmanCli(["secret", "inspect", names.token, "--format", "{{.Spec.Driver.Name}}"])
    ).trim();
    expect(driver).toBe(id === "podman-pass" ? "pass" : "file");
    expect(await containersOfRun(backend.runId)).toHaveLength(1);
    expect(workload.fileTargets).toEqual([
      "/run/secrets/owned",
      "/run/secrets/ro",
      "/run/secrets/scrub",
      `/run/secrets/${names.binary}`,
      "/etc/keyhole-token",
    ]);
  });

  it("file.uid-gid-mode-honoured: 2000/2000/0400 is read by alice and refused to bob", async () => {
    const stat = await workload.exec(["stat", "-c", "%u %g %a", "/run/secrets/owned"]);
    expect(stat.stdout.trim()).toBe("2000 2000 400");
    const alice = await workload.exec(["cat", "/run/secrets/owned"], { user: "alice" });
    expect(alice).toMatchObject({ exitCode: 0, stdout: owned });
    const bob = await workload.exec(["cat", "/run/secrets/owned"], { user: "bob" });
    expect(bob.exitCode).not.toBe(0);
    expect(bob.stdout).toBe("");
    expect(bob.stderr).toMatch(/Permission denied/);
  });

  it("a file outside /run/secrets gets the default 0444 root:root (sent explicitly)", async () => {
    const stat = await workload.exec(["stat", "-c", "%u %g %a", "/etc/keyhole-token"]);
    expect(stat.stdout.trim()).toBe("0 0 444");
    expect((await workload.exec(["cat", "/etc/keyhole-token"], { user: "bob" })).stdout).toBe(
      token,
    );
  });

  it("limits.binary-exact: NUL and 0xff bytes arrive byte-exact (sha256 inside == outside)", async () => {
    const inside = await workload.exec(["sha256sum", `/run/secrets/${names.binary}`]);
    expect(inside.exitCode).toBe(0);
    expect(inside.stdout.split(" ")[0]).toBe(createHash("sha256").update(binary).digest("hex"));
    expect(handles.binary!.envSafe).toBe(false);
    expect(handles.binary!.size).toBe(binary.length);
  });

  it("file.capdrop-blocks-write: without CAP_DAC_OVERRIDE root cannot write a 0444 file", async () => {
    const caps = await workload.exec(["grep", "CapEff", "/proc/self/status"], { user: "0" });
    // CAP_DAC_OVERRIDE is bit 1.
    expect(BigInt(`0x${caps.stdout.split(":")[1]!.trim()}`) & 2n).toBe(0n);
    const write = await workload.exec(["sh", "-c", "echo x > /run/secrets/ro"], { user: "0" });
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Permission denied/);
    expect((await workload.exec(["cat", "/run/secrets/ro"])).stdout).toBe(readOnly);
  });

  it("execs as another user, feeds stdin, and passes exec env", async () => {
    expect((await workload.exec(["id", "-u"], { user: "bob" })).stdout.trim()).toBe("3000");
    expect((await workload.exec(["id", "-u"], { user: "2000" })).stdout.trim()).toBe("2000");
    expect((await workload.exec(["id", "-u"])).stdout.trim()).toBe("0");
    const echoed = await workload.exec(["cat"], { stdin: "line one\nline two" });
    expect(echoed).toEqual({ exitCode: 0, stdout: "line one\nline two", stderr: "" });
    const failed = await workload.exec(["sh", "-c", 'echo "$EXTRA" >&2; exit 7'], {
      env: { EXTRA: "on stderr" },
    });
    expect(failed).toEqual({ exitCode: 7, stdout: "", stderr: "on stderr\n" });
  });

  it("env delivery: the variable is visible in the container, beside plain env", async () => {
    const r = await workload.exec(["sh", "-c", 'printf "%s|%s" "$API_TOKEN" "$PLAIN"'], {
      user: "bob",
    });
    expect(r.stdout).toBe(`${token}|visible`);
  });

  it("file.scrub-after-use: a scrub:true file is zeroed and truncated; later readers get nothing", async () => {
    const before = await workload.exec(["stat", "-c", "%u %a %s", "/run/secrets/scrub"]);
    expect(before.stdout.trim()).toBe(`0 644 ${scrubbed.length}`);
    expect((await workload.exec(["cat", "/run/secrets/scrub"], { user: "bob" })).stdout).toBe(
      scrubbed,
    );
    await workload.scrub("scrub");
    const after = await workload.exec(["cat", "/run/secrets/scrub"], { user: "bob" });
    expect(after).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(await codeOf(workload.scrub("/run/secrets/ro"))).toBe("INVALID_INPUT");
  });

  it("lifecycle: SECRET_EXISTS, SECRET_NOT_FOUND, listSecrets and the 511999-byte limit", async () => {
    expect(await codeOf(backend.createSecret(names.token, "again"))).toBe("SECRET_EXISTS");
    // A second backend instance on the same engine (same API socket) meets Podman's own check.
    const other = podmanFileBackend({
      socketPath: backend.engine.endpoint!.replace("unix://", ""),
    });
    try {
      const error = await other.createSecret(names.token, "again").catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("SECRET_EXISTS");
      expect((error as Error).message).toBe(
        `[keyhole] [podman-file] Podman already has a secret named "${names.token}". Remove it (\`podman secret rm ${names.token}\`) or use another name.`,
      );
    } finally {
      await other.dispose();
    }
    const big = await backend.createSecret(
      `kh-big-${backend.runId}`,
      new Uint8Array(511_999).fill(65),
    );
    expect((await backend.listSecrets()).map((s) => s.name)).toContain(big.name);
    await backend.removeSecret(big);
    expect((await backend.listSecrets()).map((s) => s.name)).not.toContain(big.name);
    expect(await codeOf(backend.removeSecret(big))).toBe("SECRET_NOT_FOUND");
    expect((await backend.listSecrets()).map((s) => s.name).sort()).toEqual(
      Object.values(names).sort(),
    );
  });

  it.runIf(id === "podman-pass")(
    "rest.encrypted: pass secrets are GnuPG files under the throwaway store, no plaintext",
    async () => {
      const store = join(tmpdir(), `keyhole-podman-${backend.runId}`, "store");
      const files = readdirSync(store).filter((f) => f.endsWith(".gpg"));
      expect(files.sort()).toEqual(
        Object.values(handles)
          .map((h) => `${h.id}.gpg`)
          .sort(),
      );
      for (const f of files) {
        const data = readFileSync(join(store, f));
        for (const plain of [token, owned, readOnly, scrubbed]) {
          expect(data.includes(Buffer.from(plain))).toBe(false);
        }
        // An OpenPGP public-key encrypted session key packet starts the file.
        expect((data[0]! & 0x80) !== 0).toBe(true);
      }
    },
  );

  it("a run that fails half-way leaves no container: missing image, and PID 1 exiting", async () => {
    const missing = await backend
      .run({
        image: "localhost/keyhole-no-such-image:0",
        command: IDLE,
        secrets: [{ secret: handles.owned!, as: "file" }],
      })
      .catch((e: unknown) => e);
    expect((missing as { code?: string }).code).toBe("ENGINE_ERROR");
    expect((missing as Error).message).toBe(
      `[keyhole] [${id}] The image "localhost/keyhole-no-such-image:0" is not in Podman's local storage, and keyhole never pulls. Build the probe image with \`await ensureProbeImage("podman")\` from @keyhole/probe (or run \`node scripts/setup.mjs\`), or load your image with \`podman load\`.`,
    );
    // Created, then the start fails (no such executable): the container must be removed again.
    const failed = await backend
      .run({
        image,
        command: ["/no/such/binary"],
        secrets: [{ secret: handles.owned!, as: "file" }],
      })
      .catch((e: unknown) => e);
    expect((failed as { code?: string }).code).toBe("ENGINE_ERROR");
    expect((failed as Error).message).toMatch(
      new RegExp(
        `^\\[keyhole\\] \\[${id}\\] Podman refused to start the workload container \\(HTTP 500: .*no such file or directory`,
      ),
    );
    expect(await containersOfRun(backend.runId)).toHaveLength(1); // only the shared workload
  });

  it("stop() removes the container and is idempotent", async () => {
    const w = await backend.run({ image, command: IDLE });
    expect(await containersOfRun(backend.runId)).toHaveLength(2);
    await w.stop();
    await w.stop();
    expect(await containersOfRun(backend.runId)).toHaveLength(1);
    expect(await codeOf(w.exec(["true"]))).toBe("ENGINE_ERROR");
  });
});
