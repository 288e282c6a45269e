// Real-engine tests of the provisioning scripts. They run after `node scripts/setup.mjs` (the
// root `npm test` does that first), so the shared engines are expected to be up; nothing here
// stops or reconfigures them: the start and decision paths run against throwaway state.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startDockerd } from "./lib/docker.mjs";
import { containersConf, hardLimits, limitCandidates, trialRun } from "./lib/podman.mjs";

const PROVISION = fileURLToPath(new URL("./provision.mjs", import.meta.url));
const exec = promisify(execFile);

/** Runs provision.mjs; resolves `{ code, stdout, stderr }` whatever the exit code. */
async function provision(args, env = {}) {
  try {
    const r = await exec(process.execPath, [PROVISION, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

describe("provision.mjs --check", () => {
  it("reports every engine ready and exits 0 on a provisioned machine", async () => {
    const r = await provision(["--check"]);
    expect(r.stderr).toBe("");
    const rows = r.stdout.trim().split("\n");
    for (const name of [
      "packages",
      "podman",
      "podman config",
      "pass/gpg",
      "docker daemon",
      "swarm",
    ]) {
      expect(rows.find((row) => row.startsWith(`${name} `))).toMatch(/ {2}ready {4}/);
    }
    expect(rows.filter((row) => row.startsWith("probe image ("))).toHaveLength(2);
    // The multi-node swarm is optional: up (ready) or not (off), never a failure by itself.
    expect(rows.find((row) => row.startsWith("cluster (3-node swarm) "))).toMatch(
      / {2}(ready|off) {4,5}/,
    );
    expect(rows.at(-1)).toBe("all ready");
    expect(r.code).toBe(0);
  });

  it("reports a Docker daemon that does not answer as missing, with the fix, and exits 1", async () => {
    const sock = join(tmpdir(), `keyhole-no-daemon-${process.pid}.sock`);
    const r = await provision(["--check"], { DOCKER_HOST: `unix://${sock}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^docker daemon +missing +no daemon answers on unix://${sock}: Cannot connect`,
        "m",
      ),
    );
    expect(r.stdout).toMatch(/^ +fix: node scripts\/provision\.mjs$/m);
    expect(r.stdout).toMatch(/^swarm +missing +needs the docker daemon$/m);
    expect(r.stdout).toMatch(/^probe image \(docker\) +missing +needs docker$/m);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("3 not ready");
  });
});

describe("provision.mjs", () => {
  it("changes nothing when run again and says so", async () => {
    const r = await provision([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[provision\] dockerd: already answering on .*; not started$/m);
    expect(r.stdout).toMatch(/^\[provision\] swarm: already active; not initialised$/m);
    expect(r.stdout).toMatch(/\(kept\)$|nothing written\)$/m);
    expect(r.stdout.trim().split("\n").at(-1)).toBe(
      "[provision] engines: nothing changed; everything was already in place",
    );
  });

  it("decides a Podman config by trial into a fresh state dir, within the host's hard limits", async () => {
    const state = mkdtempSync(join(tmpdir(), "keyhole-state-"));
    try {
      const r = await provision([], { KEYHOLE_STATE_DIR: state, CONTAINERS_CONF: "" });
      expect(r.code).toBe(0);
      const conf = join(state, "containers.conf");
      const line = r.stdout.split("\n").find((l) => l.startsWith("[provision] podman: "));
      if (line?.includes("default config")) {
        // This host needs no config: the default trial passed and nothing was written.
        expect(line).toMatch(/nothing written\)$/);
        return;
      }
      expect(line).toMatch(
        /wrote .*containers\.conf: runtime=\w+ nofile=\d+ nproc=\d+ \(trial run passed\)$/,
      );
      const text = readFileSync(conf, "utf8");
      const [, nofile, nproc] = text.match(/nofile=(\d+):\d+", "nproc=(\d+):/) ?? [];
      const hard = hardLimits();
      expect(Number(nofile)).toBeLessThanOrEqual(hard.nofile);
      expect(Number(nproc)).toBeLessThanOrEqual(hard.nproc);
      expect(trialRun(conf)).toEqual({ ok: true, error: "" });
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe("podman config helpers", () => {
  it("steps limits down from the hard limit, never above it", () => {
    expect(limitCandidates(20_000)).toEqual([20_000, 16_384, 8_192, 4_096, 1_024]);
    expect(limitCandidates(96_362)).toEqual([
      96_362, 65_536, 32_768, 20_000, 16_384, 8_192, 4_096, 1_024,
    ]);
    expect(limitCandidates(Number.POSITIVE_INFINITY)[0]).toBe(1_048_576);
  });

  it("writes runtime and ulimits in containers.conf syntax", () => {
    expect(containersConf({ runtime: "runc", nofile: 20000, nproc: 32768 })).toContain(
      '[engine]\nruntime = "runc"\n\n[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n',
    );
  });
});

// The start path itself (dockerd detached, answering after setup exits) is exercised by every
// CI run: CI starts from a machine where no daemon runs, so `npm test`'s setup starts it. A
// second throwaway daemon here was tried and removed: it disturbed the shared daemon's docker0
// bridge mid-run, breaking Swarm tasks of concurrent tests.
describe("startDockerd", () => {
  it("fails with the log's path and last lines when dockerd exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyhole-dockerd-"));
    try {
      const log = `${dir}/bad.log`;
      const error = await startDockerd({
        log,
        args: ["--no-such-flag"],
        answers: () => false,
      }).catch((e) => e);
      expect(error.message).toMatch(new RegExp(`^dockerd exited \\(code \\d+\\); see ${log}\\n`));
      expect(error.message).toContain("unknown flag: --no-such-flag");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
