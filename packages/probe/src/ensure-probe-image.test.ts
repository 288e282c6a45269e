import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { isKeyholeError, podmanEnv } from "@keyhole/core";
import { afterAll, describe, expect, it } from "vitest";
import { ensureProbeImage, ensureProbeImageInfo, type ProbeEngine } from "./ensure-probe-image.js";
import { buildProbeArchive } from "./probe-archive.js";

const DOCKER = "/usr/bin/docker";

function runIn(engine: ProbeEngine, image: string, script: string): string {
  const [bin, env] = engine === "podman" ? ["podman", podmanEnv()] : [DOCKER, process.env];
  return execFileSync(bin, ["run", "--rm", "--network", "none", image, "sh", "-c", script], {
    env,
    encoding: "utf8",
  });
}

describe("buildProbeArchive", () => {
  it("yields the same bytes, tag and id on every build", () => {
    const a = buildProbeArchive();
    const b = buildProbeArchive();
    expect(a.tag).toMatch(/^[0-9a-f]{12}$/);
    expect(a.reference).toBe(`localhost/keyhole-probe:${a.tag}`);
    expect(b.reference).toBe(a.reference);
    expect(b.id).toBe(a.id);
    expect(b.archive.equals(a.archive)).toBe(true);
  });
});

describe.each(["podman", "docker"] as const)("ensureProbeImage(%s)", (engine) => {
  it("loads the image with the users, homes and applets the probes need", async () => {
    // Concurrent callers in one process share one load.
    expect(ensureProbeImageInfo(engine)).toBe(ensureProbeImageInfo(engine));
    const [first, second] = await Promise.all([ensureProbeImage(engine), ensureProbeImage(engine)]);
    expect(second).toBe(first);
    expect(first).toBe(buildProbeArchive().reference);

    const out = runIn(
      engine,
      first,
      [
        // Podman gives root no supplementary groups, Docker gives it group 0: compare ids only.
        'echo "$(id -un) $(id -u):$(id -g)"',
        "id alice",
        "su -s /bin/sh bob -c id",
        "stat -c '%n %u:%g %a' /home/alice /home/bob /tmp",
        'for a in sh cat ps tr grep ls rm shred sleep env mount head od sha256sum; do echo "$a -> $(readlink /bin/$a)"; done',
      ].join("; "),
    );
    expect(out).toBe(
      [
        "root 0:0",
        "uid=2000(alice) gid=2000(alice) groups=2000(alice)",
        "uid=3000(bob) gid=3000(bob) groups=3000(bob)",
        "/home/alice 2000:2000 755",
        "/home/bob 3000:3000 755",
        "/tmp 0:0 1777",
        ..."sh cat ps tr grep ls rm shred sleep env mount head od sha256sum"
          .split(" ")
          .map((a) => `${a} -> busybox`),
        "",
      ].join("\n"),
    );
  });

  it("has the same id the archive promises, so the tag is content-derived", async () => {
    const info = await ensureProbeImageInfo(engine);
    expect(info.id).toBe(buildProbeArchive().id);
  });
});

describe("loading from scratch (throwaway Podman storage; the shared store is never touched)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-probe-store-"));
  // Own root, runroot and libpod tmpdir; vfs makes no overlay mounts, so removing the
  // directory afterwards removes everything.
  const storage = (name: string) => [
    ...["--root", join(dir, name, "root"), "--runroot", join(dir, name, "run")],
    ...["--tmpdir", join(dir, name, "tmp"), "--storage-driver", "vfs"],
  ];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the same tag and image id in two fresh stores", async () => {
    const built = buildProbeArchive();
    const a = await ensureProbeImageInfo("podman", { globalArgs: storage("a") });
    const b = await ensureProbeImageInfo("podman", { globalArgs: storage("b") });
    expect(a).toEqual({ engine: "podman", reference: built.reference, id: built.id });
    expect(b).toEqual(a);
  });

  it("survives two processes loading the same archive into one store at once", async () => {
    const built = buildProbeArchive();
    const file = join(dir, "probe.tar");
    writeFileSync(file, built.archive);
    const load = () =>
      promisify(execFile)("podman", [...storage("c"), "load", "-q", "-i", file], {
        env: podmanEnv(),
      });
    await Promise.all([load(), load()]);
    const id = execFileSync(
      "podman",
      [...storage("c"), "image", "inspect", "--format", "{{.Id}}", built.reference],
      { env: podmanEnv(), encoding: "utf8" },
    );
    expect(`sha256:${id.trim()}`).toBe(built.id);
  });
});

describe("errors", () => {
  it("two engines of one kind at once get their own answers (DOCKER_HOST is part of the key)", async () => {
    const [real, nowhere] = await Promise.allSettled([
      ensureProbeImageInfo("docker", {
        env: { ...process.env, DOCKER_HOST: "unix:///var/run/docker.sock" },
      }),
      ensureProbeImageInfo("docker", {
        env: { ...process.env, DOCKER_HOST: "unix:///nonexistent/keyhole-test/docker.sock" },
      }),
    ]);
    expect(real.status).toBe("fulfilled");
    expect(nowhere.status).toBe("rejected");
  });

  it("reports a missing engine binary as ENGINE_UNAVAILABLE with the fix", async () => {
    const error = await ensureProbeImage("podman", { binary: "/nonexistent/podman" }).catch(
      (e: unknown) => e,
    );
    expect(isKeyholeError(error, "ENGINE_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toBe(
      "[keyhole] [podman] The podman command (/nonexistent/podman) is not installed or not executable. Fix: sudo apt-get install -y podman runc",
    );
  });

  it("reports a busybox that is not static as ENGINE_UNAVAILABLE naming busybox-static", async () => {
    const error = await ensureProbeImage("docker", { busybox: "/bin/ls" }).catch((e: unknown) => e);
    expect(isKeyholeError(error, "ENGINE_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toBe(
      "[keyhole] [probe] /bin/ls is not a statically linked ELF binary; the probe image has no libc to run it. Fix: sudo apt-get install -y busybox-static",
    );
  });
});
