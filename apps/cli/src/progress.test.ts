import { describe, expect, it } from "vitest";
import { stripAnsi } from "./ansi.js";
import { createProgress } from "./progress.js";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (t: string) => chunks.push(t) } };
}

describe("createProgress", () => {
  it("prints one plain line per finished check when not on a TTY", () => {
    const { chunks, stream } = sink(false);
    const p = createProgress(stream, { color: false, quiet: false });
    p.begin(["podman-file"]);
    p.update({ backendId: "podman-file", checkId: "env.child-inherits", index: 1, total: 2 });
    p.update({
      backendId: "podman-file",
      checkId: "env.child-inherits",
      index: 1,
      total: 2,
      outcome: "exposed",
    });
    p.note("docker not available: dockerd is not running. Fix: dockerd &");
    p.done();
    expect(chunks.join("")).toBe(
      "running the checks on podman-file\n[podman-file] 1/2 env.child-inherits: exposed\ndocker not available: dockerd is not running. Fix: dockerd &\n",
    );
  });

  it("redraws one live line per backend on a TTY and clears it at the end", () => {
    const { chunks, stream } = sink(true);
    const p = createProgress(stream, { color: false, quiet: false });
    p.begin(["podman-file", "docker"]);
    expect(stripAnsi(chunks.join(""))).toBe(
      "podman-file    starting containers…\ndocker         starting containers…\n",
    );
    p.update({ backendId: "podman-file", checkId: "env.child-inherits", index: 1, total: 12 });
    p.update({ backendId: "docker", checkId: "file.delete-refused", index: 3, total: 12 });
    p.update({ backendId: "podman-file", checkId: "env.other-uid-sees", index: 2, total: 12 });
    const last = chunks.slice(chunks.lastIndexOf("\u001b[2F\u001b[0J") + 1).join("");
    expect(stripAnsi(last)).toBe(
      "podman-file     2/12  env.other-uid-sees\ndocker          3/12  file.delete-refused\n",
    );
    p.done();
    expect(chunks.at(-1)).toBe("\u001b[2F\u001b[0J");
  });

  it("shows nothing with --quiet", () => {
    const { chunks, stream } = sink(true);
    const p = createProgress(stream, { color: false, quiet: true });
    p.begin(["docker"]);
    p.update({ backendId: "docker", checkId: "x", index: 1, total: 1, outcome: "error" });
    p.note("hello");
    p.done();
    expect(chunks).toEqual([]);
  });
});
