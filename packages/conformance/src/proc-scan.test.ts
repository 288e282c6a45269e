import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ProcScanner } from "./proc-scan.js";

const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

describe("ProcScanner", () => {
  // The scanner is the oracle of hygiene.host-argv-environ; it must be able to fail. A throwaway
  // random marker (not a secret) is put into a child's environment and argv to prove it.
  it("finds a watched value in a host process's environment and argv, never storing it", async () => {
    const marker = randomBytes(16).toString("hex");
    const scanner = new ProcScanner();
    scanner.watch("marker", marker);
    const child = spawn("sh", ["-c", "sleep 30", "kh-scan-test", marker], {
      env: { ...process.env, KH_SCAN_TEST: marker },
      stdio: "ignore",
    });
    children.push(child);
    await new Promise((r) => setTimeout(r, 200));
    await scanner.settle();
    const hits = scanner.hits().filter((h) => h.pid === child.pid);
    expect(hits.map((h) => h.where).sort()).toEqual(["cmdline", "environ"]);
    expect(hits.every((h) => h.value === "marker" && h.comm === "sh")).toBe(true);
    expect(JSON.stringify(scanner.hits())).not.toContain(marker);
    expect(scanner.samples).toBe(1);
    expect(scanner.maxProcesses).toBeGreaterThan(1);
  });

  it("searches unchanged processes again for values watched later, and for a label watched anew", async () => {
    const early = randomBytes(16).toString("hex");
    const late = randomBytes(16).toString("hex");
    const renewed = randomBytes(16).toString("hex");
    const scanner = new ProcScanner();
    scanner.watch("early", early);
    scanner.watch("renewed", randomBytes(16).toString("hex"));
    const child = spawn("sh", ["-c", "sleep 30", "kh-scan-test", late], {
      env: { ...process.env, KH_SCAN_TEST: renewed },
      stdio: "ignore",
    });
    children.push(child);
    await new Promise((r) => setTimeout(r, 200));
    await scanner.settle();
    expect(scanner.hits().filter((h) => h.pid === child.pid)).toEqual([]);
    // The child did not change since: only the new needles can find it.
    scanner.watch("late", late);
    await scanner.settle();
    expect(scanner.hits().filter((h) => h.pid === child.pid)).toEqual([
      { pid: child.pid, comm: "sh", where: "cmdline", value: "late", via: "sample" },
    ]);
    scanner.watch("renewed", renewed);
    await scanner.settle();
    expect(
      scanner
        .hits()
        .filter((h) => h.pid === child.pid)
        .map((h) => `${h.where}:${h.value}`)
        .sort(),
    ).toEqual(["cmdline:late", "environ:renewed"]);
    expect(scanner.samples).toBe(3);
  });

  it("finds nothing when no process holds the value", async () => {
    const scanner = new ProcScanner();
    scanner.watch("absent", randomBytes(16).toString("hex"));
    await scanner.settle();
    expect(scanner.hits()).toEqual([]);
    expect(scanner.maxProcesses).toBeGreaterThan(0);
  });

  // Issue 14: a value in the argv of a process that lived ~0.2 s was missed (samples once a
  // second, and a sample itself takes about a second on a loaded host).
  it("catches a value in the argv of a process that lives 0.2 s, and in a short-lived one's environment", async () => {
    const marker = randomBytes(16).toString("hex");
    const scanner = new ProcScanner();
    scanner.watch("marker", marker);
    scanner.start(1000);
    const short = spawn("sh", ["-c", "sleep 0.2", "kh-short", marker], { stdio: "ignore" });
    await new Promise((r) => short.on("close", r));
    const brief = spawn("true", [], { env: { KH_SCAN_TEST: marker }, stdio: "ignore" });
    await new Promise((r) => brief.on("close", r));
    execFileSync("sh", ["-c", "true", "kh-sync", marker]);
    await scanner.stop();
    const found = scanner
      .hits()
      .map((h) => `${h.comm} ${h.where} ${h.via}`)
      .sort();
    expect(found).toEqual(expect.arrayContaining(["sh cmdline spawn", "true environ spawn"]));
    expect(scanner.hits().filter((h) => h.via === "spawn" && h.comm === "sh")).toHaveLength(2);
    expect(JSON.stringify(scanner.hits())).not.toContain(marker);
  });

  it("stops looking at spawns once stopped", async () => {
    const marker = randomBytes(16).toString("hex");
    const scanner = new ProcScanner();
    scanner.watch("marker", marker);
    scanner.start(60_000);
    await scanner.stop();
    execFileSync("sh", ["-c", "true", "kh-after", marker]);
    expect(scanner.hits().filter((h) => h.via === "spawn")).toEqual([]);
  });
});
