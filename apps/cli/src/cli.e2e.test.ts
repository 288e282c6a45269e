import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKS, OUTCOMES, type Report } from "@keyhole/conformance";
import { provisionedEngineSets, type SecretBackend, type SecretValue } from "@keyhole/core";
import { podmanFileBackend } from "@keyhole/podman";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCommand } from "./args.js";
import { compareCommand } from "./compare-command.js";
import type { CliIO } from "./io.js";
import { main } from "./main.js";
import { STRATEGIES } from "./strategies.js";

// Real engines, no mocks. The built bin is what `npm test` has built before vitest runs.
const BIN = join(import.meta.dirname, "..", "dist", "bin.js");

function memoryIO(): CliIO & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (t: string) => out.push(t), isTTY: false },
    stderr: { write: (t: string) => err.push(t), isTTY: false },
    env: { ...process.env, NO_COLOR: "1" },
    cwd: process.cwd(),
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

/**
 * Hands calls through to `inner` and remembers every value given to the engine: the oracle
 * for "no secret value in any output", independent of keyhole's own redaction.
 */
function recording(inner: SecretBackend, values: SecretValue[]): SecretBackend {
  return {
    get id() {
      return inner.id;
    },
    get capabilities() {
      return inner.capabilities;
    },
    get engine() {
      return inner.engine;
    },
    get runId() {
      return inner.runId;
    },
    ready: () => inner.ready(),
    createSecret: (name, value, options) => {
      values.push(value);
      return inner.createSecret(name, value, options);
    },
    replaceSecret: (secret, value) => {
      values.push(value);
      return inner.replaceSecret(secret, value);
    },
    removeSecret: (secret) => inner.removeSecret(secret),
    listSecrets: () => inner.listSecrets(),
    run: (spec) => inner.run(spec),
    dispose: () => inner.dispose(),
    [Symbol.asyncDispose]: () => inner.dispose(),
  };
}

/** Forms a value can leak in: as text (if printable), trimmed, base64. */
function forms(value: SecretValue): string[] {
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
  const text = bytes.toString("utf8");
  return [text, text.trim(), bytes.toString("base64")].filter((f) => f.length >= 6);
}

function expectSchema(report: Report): void {
  expect(report.schemaVersion).toBe(2);
  expect(typeof report.tool.name).toBe("string");
  expect(typeof report.tool.version).toBe("string");
  expect(new Date(report.startedAt).toISOString()).toBe(report.startedAt);
  expect(typeof report.durationMs).toBe("number");
  for (const b of report.backends) {
    expect(typeof b.id).toBe("string");
    expect(typeof b.available).toBe("boolean");
    expect(typeof b.engine.name).toBe("string");
    expect(typeof b.engine.version).toBe("string");
    expect(typeof b.capabilities.fileDelivery).toBe("boolean");
    for (const r of b.results) {
      expect(CHECKS.map((c) => c.id)).toContain(r.check);
      expect(OUTCOMES).toContain(r.outcome);
      expect(typeof r.durationMs).toBe("number");
    }
  }
}

describe("keyhole compare --backend podman-file --check 'file.*' --format json (real Podman)", () => {
  const values: SecretValue[] = [];
  const io = memoryIO();
  let code: number;
  let report: Report;

  beforeAll(async () => {
    const cmd = parseCommand([
      "compare",
      "--backend",
      "podman-file",
      "--check",
      "file.*",
      "--format",
      "json",
    ]);
    if (cmd.command !== "compare") throw new Error("expected compare");
    code = await compareCommand(cmd, io, {
      strategies: STRATEGIES.map((s) =>
        s.id === "podman-file" ? { ...s, create: () => recording(podmanFileBackend(), values) } : s,
      ),
      run: (await import("@keyhole/conformance")).runComparison,
    });
    report = JSON.parse(io.out()) as Report;
  });

  it("prints exactly the suite's report, for podman-file and the file.* checks only", () => {
    expectSchema(report);
    expect(report.backends.map((b) => b.id)).toEqual(["podman-file"]);
    const podman = report.backends[0]!;
    expect(podman.available).toBe(true);
    expect(podman.results.map((r) => r.check)).toEqual(
      CHECKS.filter((c) => c.id.startsWith("file.")).map((c) => c.id),
    );
    expect(podman.results.filter((r) => r.outcome === "error")).toEqual([]);
    expect(code).toBe(0);
  });

  it("shows plain progress lines on a non-TTY stderr", () => {
    expect(io.err()).toMatch(
      /^\[podman-file\] 1\/\d+ file\.[a-z-]+: (protected|exposed|unsupported)$/m,
    );
  });

  it("never prints a secret value the suite handed to the engine", () => {
    expect(values.length).toBeGreaterThan(0);
    const all = io.out() + io.err();
    for (const v of values) for (const f of forms(v)) expect(all.includes(f)).toBe(false);
  });
});

describe("the built bin", () => {
  beforeAll(() => {
    expect(
      existsSync(BIN),
      `${BIN} is missing: run npx turbo run build --filter=@keyhole/cli...`,
    ).toBe(true);
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [BIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", ...env },
      timeout: 600_000,
    });

  it("prints its version and exits 0; bad usage exits 2 saying what to type", () => {
    const version = run(["--version"]);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const bad = run(["compare", "--format", "pdf"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      'Unknown format "pdf". Use --format table, --format markdown, --format json, --format html.\n',
    );
    const typo = run(["compare", "--backend", "podman"]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('Unknown backend "podman". Use --backend with one or more of:');
  });

  it("with no Docker daemon reachable: Podman backends still run, Docker ones are reported with the fix, exit 0", () => {
    // A socket path nothing listens on stands in for a stopped dockerd (the shared daemon stays up).
    // --no-cluster: the multi-node swarm column does not go through DOCKER_HOST (its manager
    // socket comes from the node map), so it is left out of this one; --engines host: engine
    // sets have sockets of their own too.
    const r = run(
      [
        "compare",
        "--no-cluster",
        "--engines",
        "host",
        "--check",
        "file.default-path-owner-mode",
        "--format",
        "json",
      ],
      { DOCKER_HOST: "unix:///nonexistent/keyhole-test/docker.sock" },
    );
    const report = JSON.parse(r.stdout) as Report;
    expectSchema(report);
    const byId = new Map(report.backends.map((b) => [b.id, b]));
    expect([...byId.keys()]).toEqual([
      "podman-file",
      "podman-pass",
      "docker-swarm",
      "docker",
      "compose-file",
      "compose-env",
    ]);
    expect(byId.get("podman-file")?.available).toBe(true);
    expect(byId.get("podman-pass")?.available).toBe(true);
    for (const id of ["docker-swarm", "docker"]) {
      expect(byId.get(id)?.available).toBe(false);
      expect(byId.get(id)?.unavailableReason).toMatch(/Fix: /);
      expect(r.stderr).toContain(`${id} not run: `);
    }
    expect(r.status).toBe(0);
  });

  it("without Compose v2 (no engine set, no host plugin) the compose columns are not run, with the fix", () => {
    // An empty state dir stands in for a machine where the Debian 13 set was never provisioned.
    const state = mkdtempSync(join(tmpdir(), "keyhole-noset-"));
    try {
      const r = run(
        [
          "compare",
          "--backend",
          "compose-file,compose-env",
          "--check",
          "file.default-path-owner-mode",
        ],
        { KEYHOLE_STATE_DIR: state },
      );
      expect(existsSync("/usr/libexec/docker/cli-plugins/docker-compose")).toBe(false);
      expect(r.stdout).toContain("No backend ran.");
      for (const id of ["compose-file", "compose-env"]) {
        expect(r.stdout).toMatch(
          new RegExp(
            `${id} not run: .*No Docker engine answers on unix://${state}/sets/trixie/rootfs/run/kh/docker\\.sock.*Fix: node scripts/engine-set\\.mjs up`,
          ),
        );
      }
      expect(r.status).toBe(3);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it("exits 3 when no selected backend is available", () => {
    const r = run(
      ["compare", "--engines", "host", "--backend", "docker", "--check", "file.delete-refused"],
      {
        DOCKER_HOST: "unix:///nonexistent/keyhole-test/docker.sock",
      },
    );
    expect(r.stdout).toContain("No backend ran.");
    expect(r.stdout).toMatch(/docker not run: .*Fix: /);
    expect(r.status).toBe(3);
  });
});

describe.skipIf(process.env.KEYHOLE_ENGINE_SETS === "host")(
  "compare across engine generations",
  () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
        timeout: 600_000,
      });

    it("runs both sets by default, names each column's engine version, and records where verdicts differ", () => {
      const sets = provisionedEngineSets();
      expect(
        sets.map((s) => s.name),
        "no engine set provisioned: node scripts/setup.mjs",
      ).not.toEqual([]);
      const r = run([
        "compare",
        "--backend",
        "podman-file",
        "--check",
        "env.engine-inspect-shows",
        "--check",
        "lifecycle.replace",
        "--format",
        "json",
      ]);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Report & {
        generationDifferences?: Array<{ backend: string; check: string }>;
      };
      const versions = report.backends.map((b) => `${b.id} · ${b.engine.name} ${b.engine.version}`);
      expect(versions).toHaveLength(1 + sets.length);
      expect(new Set(versions).size).toBe(versions.length);
      const host = report.backends[0]!;
      const other = report.backends[1]!;
      expect(host.engine.version).not.toBe(other.engine.version);
      // Podman 4.3 (Debian 12) has no secret replace; 5.4 (Debian 13) replaces and masks inspect.
      const newer = [host, other].find((b) => b.engine.version.startsWith("5."))!;
      const older = [host, other].find((b) => b.engine.version.startsWith("4.3"))!;
      const outcome = (b: typeof host, c: string) => b.results.find((x) => x.check === c)?.outcome;
      expect(outcome(older, "lifecycle.replace")).toBe("unsupported");
      expect(outcome(newer, "lifecycle.replace")).toBe("protected");
      expect(outcome(older, "env.engine-inspect-shows")).toBe("exposed");
      expect(outcome(newer, "env.engine-inspect-shows")).toBe("protected");
      expect(report.generationDifferences?.map((d) => `${d.backend} ${d.check}`).sort()).toEqual([
        "podman-file env.engine-inspect-shows",
        "podman-file lifecycle.replace",
      ]);
    });
  },
);

describe("main", () => {
  it("maps usage errors to exit code 2 in one place", async () => {
    const io = memoryIO();
    expect(await main(["gc", "--run", "not valid"], io)).toBe(2);
    expect(io.err()).toMatch(/^--run needs a run id/);
  });
});
