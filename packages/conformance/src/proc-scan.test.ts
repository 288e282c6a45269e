import { spawn } from "node:child_process";
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
      { pid: child.pid, comm: "sh", where: "cmdline", value: "late" },
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
});
