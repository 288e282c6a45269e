import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  composeProjectJson,
  envFileProblem,
  envFileText,
  escapeInterpolation,
  projectName,
  runIdOfProject,
  serveFifo,
} from "./index.js";

describe("composeProjectJson", () => {
  it("writes one service with no network, labels, escaped $ and the secret sources, never a value", () => {
    const json = JSON.parse(
      composeProjectJson({
        project: "keyhole-compose-env-abc-1",
        source: "environment",
        image: "localhost/probe:1",
        command: ["sh", "-c", 'echo "$HOME"'],
        user: "2000",
        env: { PLAIN: "a$b" },
        capDrop: ["DAC_OVERRIDE"],
        labels: { keyhole: "true" },
        secrets: [
          {
            name: "s1",
            from: "KEYHOLE_SECRET_1",
            target: "/run/secrets/tok",
            uid: 2000,
            gid: 2000,
            mode: 0o400,
          },
        ],
      }),
    );
    expect(json).toEqual({
      name: "keyhole-compose-env-abc-1",
      services: {
        workload: {
          image: "localhost/probe:1",
          network_mode: "none",
          pull_policy: "never",
          labels: { keyhole: "true" },
          command: ["sh", "-c", 'echo "$$HOME"'],
          user: "2000",
          environment: { PLAIN: "a$$b" },
          cap_drop: ["DAC_OVERRIDE"],
          secrets: [{ source: "s1", target: "tok", uid: "2000", gid: "2000", mode: 256 }],
        },
      },
      secrets: { s1: { environment: "KEYHOLE_SECRET_1" } },
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template
    expect(escapeInterpolation("${X} $$")).toBe("$${X} $$$$");
  });

  it("names a host file for file: sources", () => {
    const json = JSON.parse(
      composeProjectJson({
        project: "p",
        source: "file",
        image: "i",
        labels: {},
        secrets: [{ name: "s1", from: "/run/keyhole-compose/p/s1", target: "/run/secrets/a" }],
      }),
    );
    expect(json.secrets).toEqual({ s1: { file: "/run/keyhole-compose/p/s1" } });
    expect(json.services.workload.secrets).toEqual([{ source: "s1", target: "a" }]);
  });
});

describe("env file text", () => {
  it("single-quotes each value and refuses what cannot be quoted literally", () => {
    expect(envFileText([{ name: "A", value: 'x$y\n"z"' }])).toBe(`A='x$y\n"z"'\n`);
    expect(envFileProblem(Buffer.from("plain text\nwith $ and \\"))).toBeUndefined();
    expect(envFileProblem(new Uint8Array([0x61, 0]))).toMatch(/NUL/);
    expect(envFileProblem(new Uint8Array([0xff]))).toMatch(/not valid UTF-8/);
    expect(envFileProblem(Buffer.from("it's"))).toMatch(/single quote/);
  });
});

describe("project names", () => {
  it("round-trip the run id, even when the backend id has dashes", () => {
    expect(projectName("compose-file", "3fa2c1d9e0", 7)).toBe("keyhole-compose-file-3fa2c1d9e0-7");
    expect(runIdOfProject("keyhole-compose-file-3fa2c1d9e0-7")).toBe("3fa2c1d9e0");
    expect(runIdOfProject("myapp")).toBeUndefined();
    expect(runIdOfProject("keyhole-compose-file-x")).toBeUndefined();
  });
});

describe("serveFifo", () => {
  it("gives every reader the whole content, then stops and removes the FIFO", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyhole-fifo-test-"));
    const path = join(dir, "env.fifo");
    try {
      expect(spawnSync("mkfifo", ["-m", "600", path]).status).toBe(0);
      const content = Buffer.from(`A='${"x".repeat(200_000)}'\n`); // > one pipe buffer
      const server = serveFifo(path, content);
      // Each read opens the FIFO anew, as Compose does with its env file. A reader slow to
      // close may get a second copy (harmless for an env file: the same lines again).
      for (let i = 0; i < 3; i++) {
        const got = await readFile(path);
        expect(got.length % content.length).toBe(0);
        for (let at = 0; at < got.length; at += content.length) {
          expect(got.subarray(at, at + content.length).equals(content)).toBe(true);
        }
      }
      expect(server.served).toBeGreaterThanOrEqual(3);
      await server.close();
      await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
