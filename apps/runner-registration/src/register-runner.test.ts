import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isKeyholeError, podmanEnv, type SecretBackend } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackend } from "./backends.js";
import { type RunnerRegistration, registerRunner } from "./register-runner.js";

// A made-up token in GitLab's format; unique per run so a leak cannot match an older run's.
const TOKEN = `glrt-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

function expectTokenNowhere(r: RunnerRegistration): void {
  expect(r.registered).toMatch(
    /^registered runner runner-1 \(id \d+\) at https:\/\/ci\.example\.invalid$/,
  );
  expect(r.registerSeenInPs, "the bob-run ps watcher saw register while it held the token").toBe(
    true,
  );
  expect(r.psSnapshots).toBeGreaterThan(0);
  expect(r.tokenSeenInPs).toBe(false);
  expect(r.tokenLeftInFile).toBe(false);
  // Podman lists no supplementary groups for an exec user, Docker lists groups=2000(alice).
  expect(r.job.user).toMatch(/^uid=2000\(alice\) gid=2000\(alice\)( groups=2000\(alice\))?$/);
  expect(r.job.hasCredentials).toBe(true);
  expect(r.job.tokenFoundIn).toEqual([]);
  expect(JSON.stringify(r)).not.toContain(TOKEN);
}

/**
 * Podman's per-container plaintext copies of its file secrets, on the host (see DESIGN.md):
 * `<graphroot>/overlay-containers/<id>/userdata/secrets/<secret name>`, the inode the
 * container sees at its target.
 */
function podmanHostCopies(containerId: string): string[] {
  const graphRoot = execFileSync("podman", ["info", "--format", "{{.Store.GraphRoot}}"], {
    env: podmanEnv(),
    encoding: "utf8",
  }).trim();
  const dir = join(graphRoot, "overlay-containers", containerId, "userdata", "secrets");
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

describe("podman-file: scrub after init", () => {
  let backend: SecretBackend;
  let result: RunnerRegistration;
  let hostCopies: { path: string; content: string }[] = [];

  beforeAll(async () => {
    backend = createBackend("podman-file");
    const image = await ensureProbeImage("podman");
    result = await registerRunner({
      backend,
      token: TOKEN,
      image,
      strategy: "scrub",
      afterInit: async (w) => {
        // Oracle that bypasses the adapter: the host-side copy Podman keeps while the container
        // exists shares the inode the container sees, so scrubbing must have emptied it too.
        hostCopies = podmanHostCopies(w.containerId).map((path) => ({
          path,
          content: readFileSync(path, "latin1"),
        }));
      },
    });
  });

  afterAll(async () => {
    await backend?.dispose();
  });

  it("registers, scrubs the token, and the runner user (alice) finds it nowhere", () => {
    expect(result.strategy).toBe("scrub");
    expect(result.scrubbed).toBe(true);
    expectTokenNowhere(result);
  });

  it("leaves no token bytes in Podman's host-side copy of the secret file", () => {
    expect(hostCopies.map((c) => c.path.split("/").pop())).toEqual([
      expect.stringMatching(/^runner-token-[0-9a-f]{8}$/),
    ]);
    expect(hostCopies[0]?.content).not.toContain(TOKEN);
    expect(hostCopies[0]?.content.length).toBe(0);
  });

  it("leaves no secret and no container behind", async () => {
    expect(await backend.listSecrets()).toEqual([]);
  });
});

describe("docker-swarm: secrets are read-only tmpfs mounts", () => {
  let backend: SecretBackend;

  beforeAll(() => {
    backend = createBackend("docker-swarm");
  });

  afterAll(async () => {
    await backend?.dispose();
  });

  it("refuses the scrub strategy with UNSUPPORTED_DELIVERY before starting anything", async () => {
    const image = await ensureProbeImage("docker");
    const error = await registerRunner({ backend, token: TOKEN, image, strategy: "scrub" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKeyholeError(error, "UNSUPPORTED_DELIVERY")).toBe(true);
    expect((error as Error).message).toBe(
      "[keyhole] [docker-swarm] This backend cannot make a secret file writable, so it cannot be scrubbed after use. Remove scrub, or use a backend whose capabilities.scrubAfterUse is true.",
    );
    expect(await backend.listSecrets()).toEqual([]);
  });

  it("falls back to a separate init container: the runner's container never gets the token", async () => {
    const image = await ensureProbeImage("docker");
    const result = await registerRunner({
      backend,
      token: TOKEN,
      image,
      strategy: "separate-init",
    });
    expect(result.strategy).toBe("separate-init");
    expect(result.scrubbed).toBe(false);
    expectTokenNowhere(result);
    expect(await backend.listSecrets()).toEqual([]);
  });
});

// The same flow on the other two backends, as a user would pick them with --backend. Both
// declare scrubAfterUse, so "auto" scrubs: the pass driver's container gets the same writable
// copy as the file driver; the Docker baseline copies the file into the container itself.
describe.each(["podman-pass", "docker"])("%s: the same flow", (id) => {
  let backend: SecretBackend;
  let result: RunnerRegistration;

  beforeAll(async () => {
    backend = createBackend(id);
    const image = await ensureProbeImage(backend.engine.kind === "podman" ? "podman" : "docker");
    result = await registerRunner({ backend, token: TOKEN, image, strategy: "scrub" });
  });

  afterAll(async () => {
    await backend?.dispose();
  });

  it("registers, scrubs, and the runner user finds the token nowhere", async () => {
    expect(result.strategy).toBe("scrub");
    expectTokenNowhere(result);
    expect(await backend.listSecrets()).toEqual([]);
  });
});

// The default wherever the backend declares readOnce: the token goes through a FIFO that the
// init step empties; it never becomes an engine secret, and the job finds it nowhere.
describe.each(["podman-file", "podman-pass", "docker-swarm", "docker"])(
  "%s: read-once token (auto)",
  (id) => {
    let backend: SecretBackend;
    let result: RunnerRegistration;
    let secretsDuringRun: string[] = [];

    beforeAll(async () => {
      backend = createBackend(id);
      const image = await ensureProbeImage(backend.engine.kind === "podman" ? "podman" : "docker");
      result = await registerRunner({
        backend,
        token: TOKEN,
        image,
        afterInit: async () => {
          secretsDuringRun = (await backend.listSecrets()).map((s) => s.name);
        },
      });
    });

    afterAll(async () => {
      await backend?.dispose();
    });

    it("registers through the FIFO; it was consumed, is gone, and the runner user finds the token nowhere", () => {
      expect(result.strategy).toBe("read-once");
      expect(result.readOnce).toBe(true);
      expectTokenNowhere(result);
      expect(secretsDuringRun).toEqual([]);
    });
  },
);
