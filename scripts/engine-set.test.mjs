// Real tests of the other Debian release's engine set (scripts/lib/engine-set.mjs). They run
// after `node scripts/setup.mjs`, which provisions the set, so a missing set FAILS here
// (loudly, with the fix) rather than skipping — unless KEYHOLE_ENGINE_SETS=host says the run
// is about the host's engines only, which the skip message then names.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { debianSuite } from "./lib/debian.mjs";
import { cliPrefix, otherSuite, setLayout, setStatus } from "./lib/engine-set.mjs";
import { run } from "./lib/exec.mjs";

const CLI = fileURLToPath(new URL("./engine-set.mjs", import.meta.url));
const exec = promisify(execFile);
const hostOnly = process.env.KEYHOLE_ENGINE_SETS === "host";

async function engineSet(args, env = {}) {
  try {
    const r = await exec(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      timeout: 600_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

/** What the host's own engines and network look like; must not change while the set works. */
function hostSnapshot() {
  const out = (cmd, args) => {
    const r = run(cmd, args);
    expect(r.code, `${cmd} ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const noComments = (text) =>
    text
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .join("\n");
  const docker = "/usr/bin/docker";
  return {
    docker0: out("ip", ["-o", "addr", "show", "dev", "docker0"]),
    hostLinks: out("ip", ["-o", "link", "show"])
      .split("\n")
      .map((l) => l.split(":")[1]?.trim().split("@")[0])
      .filter((n) => n && !n.startsWith("veth"))
      .sort(),
    iptables: noComments(out("iptables-save", [])),
    ip6tables: noComments(out("ip6tables-save", [])),
    swarm: out(docker, ["info", "--format", "{{.Swarm.NodeID}} {{.Swarm.NodeAddr}}"]),
    dockerd: out("sh", ["-c", "cat /var/run/docker.pid"]),
  };
}

describe.skipIf(hostOnly)(
  `engine set (${hostOnly ? "SKIPPED: KEYHOLE_ENGINE_SETS=host" : "other Debian release"})`,
  () => {
    it("knows the host's release and picks the other one", () => {
      const host = debianSuite();
      expect(["bookworm", "trixie"]).toContain(host);
      expect(otherSuite(host)).toBe(host === "bookworm" ? "trixie" : "bookworm");
      expect(otherSuite("trixie")).toBe("bookworm");
      expect(debianSuite("13.1\n")).toBe("trixie");
      expect(debianSuite("trixie/sid\n")).toBe("trixie");
      expect(debianSuite("12.11\n")).toBe("bookworm");
    });

    it("is provisioned by setup and answers (status exits 0)", async () => {
      const r = await engineSet(["status"]);
      expect(r.stdout, r.stdout + r.stderr).toMatch(/ ready /);
      expect(r.code).toBe(0);
    });

    it("a cached `up` only checks, and runs the provisioning code inside the tree", async () => {
      const r = await engineSet(["up"]);
      expect(r.code, r.stderr).toBe(0);
      const suite = otherSuite();
      expect(r.stdout).toMatch(/rootfs: .*cached/);
      expect(r.stdout).toMatch(new RegExp(`\\[${suite}\\] packages: all installed`));
      expect(r.stdout).toMatch(new RegExp(`\\[${suite}\\] podman: \\d+\\.\\d+`));
      expect(r.stdout).toMatch(new RegExp(`\\[${suite}\\] dockerd: already answering`));
      expect(r.stdout).toMatch(new RegExp(`\\[${suite}\\] swarm: already active`));
      expect(r.stdout).not.toMatch(/debootstrap: --variant/);
    });

    it("leaves the host's engines, docker0, iptables and swarm as they were while the set works", async () => {
      const before = hostSnapshot();
      const layout = setLayout(otherSuite());
      const name = `kh-untouched-${process.pid}`;
      const podman = cliPrefix(layout, "podman");
      const docker = cliPrefix(layout, "docker");
      expect(podman, "the set is not running").toBeDefined();
      const inSet = (prefix, args, input) => {
        const r = run(prefix[0], [...prefix.slice(1), ...args], { timeout: 120_000, input });
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
        return r.stdout.trim();
      };
      const image = `localhost/keyhole-probe`;
      const ref = inSet(docker, [
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        image,
      ]).split("\n")[0];
      try {
        // Podman: a secret, a container on the default bridge (netavark rules live in the netns).
        // `podman secret create NAME -` wants a FIFO on stdin: a shell pipe inside the set.
        const at = podman.indexOf("podman");
        const piped = [
          ...podman.slice(0, at),
          "sh",
          "-c",
          'printf v | "$@"',
          "sh",
          ...podman.slice(at),
        ];
        inSet(piped, ["secret", "create", "--label", "keyhole=true", name, "-"]);
        inSet(podman, ["run", "-d", "--name", name, "--secret", name, ref, "sleep", "60"]);
        // Docker: a bridge network with a published port (iptables NAT), a swarm secret and service.
        inSet(docker, ["network", "create", name]);
        inSet(docker, [
          "run",
          "-d",
          "--name",
          name,
          "--network",
          name,
          "-p",
          "18099:80",
          ref,
          "sleep",
          "60",
        ]);
        inSet(docker, ["secret", "create", "--label", "keyhole=true", name, "-"], "v");
        inSet(docker, [
          "service",
          "create",
          "--detach",
          "--name",
          name,
          "--secret",
          name,
          "--no-resolve-image",
          ref,
          "sleep",
          "60",
        ]);
        const hostSecrets = run("/usr/bin/docker", [
          "secret",
          "ls",
          "--format",
          "{{.Name}}",
        ]).stdout;
        expect(hostSecrets.split("\n")).not.toContain(name);
        const hostContainers = run("/usr/bin/docker", [
          "ps",
          "-a",
          "--format",
          "{{.Names}}",
        ]).stdout;
        expect(hostContainers.split("\n")).not.toContain(name);
        const hostPodman = run("podman", ["ps", "-a", "--format", "{{.Names}}"]).stdout;
        expect(hostPodman.split("\n")).not.toContain(name);
        expect(hostSnapshot()).toEqual(before);
      } finally {
        run(docker[0], [...docker.slice(1), "service", "rm", name]);
        run(docker[0], [...docker.slice(1), "rm", "-f", name]);
        run(docker[0], [...docker.slice(1), "network", "rm", name]);
        run(docker[0], [...docker.slice(1), "secret", "rm", name]);
        run(podman[0], [...podman.slice(1), "rm", "-f", "-t", "0", name]);
        run(podman[0], [...podman.slice(1), "secret", "rm", name]);
      }
      expect(hostSnapshot()).toEqual(before);
    });

    it("fails with a clear message when the mirror is unreachable, and the host's engines keep running", async () => {
      const state = mkdtempSync(join(tmpdir(), "keyhole-set-fail-"));
      try {
        const r = await engineSet(["up"], {
          KEYHOLE_STATE_DIR: state,
          KEYHOLE_DEBIAN_MIRROR: "http://127.0.0.1:9/debian",
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /debootstrap of (trixie|bookworm) from http:\/\/127\.0\.0\.1:9\/debian failed \(mirror unreachable/,
        );
        expect(r.stderr).toMatch(/fix: check that http:\/\/127\.0\.0\.1:9\/debian answers/);
        expect((await setStatus(otherSuite())).state).toBe("ready");
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    });

    it("fails with a clear message when there is no disk space", async () => {
      const state = mkdtempSync(join(tmpdir(), "keyhole-set-full-"));
      expect(run("mount", ["-t", "tmpfs", "-o", "size=64m", "kh-set-test", state]).code).toBe(0);
      try {
        const r = await engineSet(["up"], { KEYHOLE_STATE_DIR: state });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /not enough disk space for the (trixie|bookworm) set: 0\.1 GiB free in .*, 2\.0 GiB needed/,
        );
      } finally {
        run("umount", [state]);
        rmSync(state, { recursive: true, force: true });
      }
    });
  },
);
