import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One place a watched value was seen. */
export interface HostScanHit {
  pid: number;
  where: "cmdline" | "environ";
  /** The process name (comm), never the value. */
  comm: string;
}

/**
 * Test helper: samples argv and environ of every process in the host's pid namespace (root sees
 * every environ) every `intervalMs` until stopped, recording where any of `needles` appears.
 * Processes inside containers (another pid namespace) are the delivery itself, not keyhole's
 * host side, so they are skipped. Runs in this process, so it adds no process of its own.
 */
export function startHostScan(needles: () => readonly Uint8Array[], intervalMs = 25) {
  const hits: HostScanHit[] = [];
  const hostPidNs = readlinkSync("/proc/self/ns/pid");
  let scans = 0;
  const scan = () => {
    const values = needles().map((n) => Buffer.from(n));
    if (values.length === 0) return;
    scans++;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/ns/pid`) !== hostPidNs) continue;
      } catch {
        continue; // exited meanwhile, or a kernel thread we may not inspect
      }
      for (const where of ["cmdline", "environ"] as const) {
        let data: Buffer;
        try {
          data = readFileSync(`/proc/${entry}/${where}`);
        } catch {
          continue;
        }
        if (values.some((v) => data.includes(v))) {
          let comm = "?";
          try {
            comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
          } catch {}
          hits.push({ pid: Number(entry), where, comm });
        }
      }
    }
  };
  const timer = setInterval(scan, intervalMs);
  return {
    hits,
    get scans() {
      return scans;
    },
    scanNow: scan,
    stop: () => clearInterval(timer),
  };
}
