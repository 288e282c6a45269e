import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyholeStateDir, type Workload } from "@keyhole/core";
import type { FixtureState } from "../fixtures.js";
import { hostPathOf } from "../host-engine.js";
import { type ScanResult, scanStorage } from "../host-scan.js";
import type { Measurement } from "../judge.js";
import { type Pass, q, script, sha256, USERS } from "../pass.js";
import { hostless } from "./env.js";
import { filesHolding } from "./hygiene.js";
import { summarizeHits } from "./rest.js";
import type { CheckImpl } from "./types.js";

/** sha256 of nothing: what a reader that read end-of-file prints. */
const EMPTY = sha256("");

/**
 * `ro FIFO KEY`: opens the FIFO once and prints `KEY=<sha256 of what it read> rc=<cat's exit>
 * err=<first line of cat's stderr>` and an end marker `KEY.end=ok`. Only a digest leaves the
 * process; the value itself goes nowhere but the pipe into sha256sum (never a file, which
 * would land in the writable layer on the host's disk).
 */
const RO = [
  "h() { sha256sum | cut -c1-64; }",
  `ro() { ( cat -- "$1" 2>"/tmp/kh-$2.err"; echo $? > "/tmp/kh-$2.rc" ) | h > "/tmp/kh-$2.d"; echo "$2=$(cat "/tmp/kh-$2.d") rc=$(cat "/tmp/kh-$2.rc") err=$(head -n1 "/tmp/kh-$2.err")"; echo "$2.end=ok"; }`,
].join("\n");

interface Read {
  digest: string;
  rc: number;
  err: string;
}

/** The `ro` line of `key` in `stdout`, or undefined when it (or its end marker) is missing. */
export function parseRead(stdout: string, key: string): Read | undefined {
  if (!stdout.split("\n").includes(`${key}.end=ok`)) return undefined;
  const line = stdout.split("\n").find((l) => l.startsWith(`${key}=`));
  const m = /^[^=]+=([0-9a-f]{64}) rc=(\d+) err=(.*)$/.exec(line ?? "");
  return m ? { digest: m[1]!, rc: Number(m[2]), err: m[3]!.trim() } : undefined;
}

/** ENOENT as busybox and coreutils cat print it. */
const gone = (r: Read) => r.rc !== 0 && /No such file/i.test(r.err);
/** EACCES. */
const denied = (r: Read) => r.rc !== 0 && /Permission denied/i.test(r.err);
const describe = (r: Read | undefined, full: string) =>
  !r
    ? "no output"
    : r.rc === 0 && r.digest === full
      ? "the whole value"
      : r.rc === 0 && r.digest === EMPTY
        ? "end-of-file (nothing)"
        : r.rc !== 0
          ? `exit ${r.rc}: ${r.err || "no message"}`
          : "part of the value or other data";

async function readAs(
  pass: Pass,
  w: Workload,
  user: string,
  reads: ReadonlyArray<readonly [target: string, key: string]>,
  note: string,
): Promise<string> {
  const body = reads.map(([t, k]) => `ro ${q(t)} ${k}`).join("\n");
  const r = await pass.sh(w, script(RO, body), { user, note });
  return r.stdout;
}

/** `workload.consumed(target)` with a generous bound, so a writer that never ends is an error, not a hang. */
async function consumedWithin(w: Workload, target: string, ms = 60_000): Promise<string> {
  if (typeof w.consumed !== "function") return "the workload has no consumed() method";
  let timer: NodeJS.Timeout | undefined;
  try {
    const at = await Promise.race([
      w.consumed(target),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
      }),
    ]);
    return at instanceof Date ? "" : "consumed() resolved with something other than a Date";
  } catch (error) {
    return `consumed(${target}) failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

function roleOf(state: FixtureState, role: string): { target: string; value: string | Uint8Array } {
  const o = state.data.once?.[role];
  if (!o) throw new Error(`keyhole conformance bug: the once fixture has no ${role} delivery.`);
  return o;
}

/** The printable once values (label → value), race values by a 48-character prefix (a copy of any part shows). */
function onceNeedles(pass: Pass, state: FixtureState): Map<string, string> {
  const out = new Map<string, string>();
  for (const [role, o] of Object.entries(state.data.once ?? {})) {
    if (typeof o.value !== "string") continue;
    out.set(`once-${role}`, role.startsWith("race-") ? o.value.slice(0, 48) : o.value);
  }
  // The binary value cannot be a grep line; its hex form can, and a copy in hex would show too.
  void pass;
  return out;
}

async function upperDir(pass: Pass, w: Workload): Promise<string[]> {
  // On a cluster the task's node knows its container; an engine in a namespace of its own
  // (an engine set) reports a path inside its root, which the host reads elsewhere.
  const cli = pass.cliFor(w);
  if (!cli) return [];
  const r = await cli.run(["inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", w.containerId]);
  const dir = hostPathOf(pass.backend.engine, r.stdout.trim());
  return r.code === 0 && dir.startsWith("/") ? [dir] : [];
}

function recordScan(pass: Pass, scan: ScanResult, note: string): void {
  for (const argv of scan.commands)
    pass.record({ where: "host", argv, note: `${note} (patterns on stdin)` });
  pass.record({
    where: "host",
    argv: ["(classify candidates in node)"],
    stdout: scan.hits
      .map((h) => `${h.kind} ${h.fsType} ${h.form} [${h.value}] ${h.path}`)
      .join("\n"),
    note: `${scan.candidates} candidate file(s), ${scan.hits.length} hit(s)${scan.warnings.length ? `; ${scan.warnings.join("; ")}` : ""}`,
  });
}

export const onceChecks: Record<string, CheckImpl> = {
  "once.intended-reader-exact": {
    fixtures: ["once"],
    async measure({ pass }, [state]) {
      const w = state!.workload!;
      const bin = roleOf(state!, "bin");
      pass.procs.sample();
      const out = await readAs(
        pass,
        w,
        USERS.alice,
        [[bin.target, "a"]],
        "uid 2000 reads the binary read-once value once",
      );
      pass.procs.sample();
      const read = parseRead(out, "a");
      if (!read)
        return { outcome: "error", reason: "The reader printed no result (no end marker)." };
      const full = sha256(bin.value);
      if (read.rc !== 0 || read.digest !== full) {
        return {
          outcome: "error",
          reason: `uid 2000 did not get the value byte-exact: ${describe(read, full)}.`,
          contradictions: [
            `The backend declares readOnce, but the intended reader of ${bin.target} got ${describe(read, full)}.`,
          ],
        };
      }
      const late = await consumedWithin(w, bin.target);
      if (late) return { outcome: "error", reason: `The value was read, but ${late}.` };
      return {
        outcome: "protected",
        observed: `uid 2000 read ${bin.value.length} bytes byte-exact (sha256 matches); consumed() resolved`,
      };
    },
  },
  "once.second-read-finds-nothing": {
    fixtures: ["once"],
    async measure({ pass }, [state]) {
      const w = state!.workload!;
      const o = roleOf(state!, "second");
      const full = sha256(o.value);
      const out = await readAs(
        pass,
        w,
        USERS.alice,
        [
          [o.target, "first"],
          [o.target, "second"],
        ],
        "uid 2000 opens the read-once target twice in a row",
      );
      const first = parseRead(out, "first");
      const second = parseRead(out, "second");
      if (!first || !second)
        return { outcome: "error", reason: "A read printed no result (no end marker)." };
      if (first.rc !== 0 || first.digest !== full) {
        return {
          outcome: "error",
          reason: `The first read did not get the value (${describe(first, full)}), so a second read proves nothing.`,
        };
      }
      if (second.rc === 0 && second.digest !== EMPTY) {
        return { outcome: "exposed", observed: `the second open got ${describe(second, full)}` };
      }
      if (!gone(second)) {
        return {
          outcome: "error",
          reason: `The second open failed, but not with ENOENT: ${describe(second, full)}.`,
        };
      }
      const late = await consumedWithin(w, o.target);
      if (late) return { outcome: "error", reason: `The value was read, but ${late}.` };
      return {
        outcome: "protected",
        observed: `first read got the value; second open: ${second.err}`,
      };
    },
  },
  "once.other-uid-denied": {
    fixtures: ["once"],
    async measure({ pass }, [state]) {
      const w = state!.workload!;
      const o = roleOf(state!, "denied");
      const full = sha256(o.value);
      const bob = parseRead(
        await readAs(
          pass,
          w,
          USERS.bob,
          [[o.target, "bob"]],
          "uid 3000 opens a FIFO delivered as 2000:2000 0400",
        ),
        "bob",
      );
      const alice = parseRead(
        await readAs(
          pass,
          w,
          USERS.alice,
          [[o.target, "alice"]],
          "then uid 2000, its owner, reads it",
        ),
        "alice",
      );
      if (!bob || !alice)
        return { outcome: "error", reason: "A read printed no result (no end marker)." };
      if (bob.rc === 0 && bob.digest === full)
        return { outcome: "exposed", observed: "uid 3000 read the whole value" };
      if (bob.rc === 0 && bob.digest !== EMPTY)
        return { outcome: "exposed", observed: "uid 3000 read part of the value" };
      if (!denied(bob))
        return {
          outcome: "error",
          reason: `uid 3000 was refused, but not with EACCES: ${describe(bob, full)}.`,
        };
      if (alice.rc !== 0 || alice.digest !== full) {
        return {
          outcome: "error",
          reason: `After uid 3000 was refused, the owner did not get the value (${describe(alice, full)}).`,
        };
      }
      return {
        outcome: "protected",
        observed: `uid 3000: ${bob.err}; uid 2000 then read the whole value`,
      };
    },
  },
  "once.racing-readers-one-winner": {
    fixtures: ["once"],
    async measure({ pass }, [state]) {
      const w = state!.workload!;
      const rounds = Object.keys(state!.data.once ?? {})
        .filter((r) => r.startsWith("race-"))
        .sort();
      if (rounds.length === 0)
        return { outcome: "error", reason: "The fixture has no racing deliveries." };
      // Both readers of a round start together as uid 2000; rounds run one after another.
      const body = rounds
        .map((r, i) => {
          const t = q(roleOf(state!, r).target);
          return `ro ${t} r${i}a & ro ${t} r${i}b & wait`;
        })
        .join("\n");
      pass.procs.sample();
      const res = await pass.sh(w, script(RO, body), {
        user: USERS.alice,
        note: `${rounds.length} rounds of two readers racing for one read-once value`,
      });
      pass.procs.sample();
      let enoent = 0;
      let eof = 0;
      const bad: string[] = [];
      const broken: string[] = [];
      for (const [i, r] of rounds.entries()) {
        const full = sha256(roleOf(state!, r).value);
        const a = parseRead(res.stdout, `r${i}a`);
        const b = parseRead(res.stdout, `r${i}b`);
        if (!a || !b) {
          broken.push(`round ${i}: no result`);
          continue;
        }
        const wins = [a, b].filter((x) => x.rc === 0 && x.digest === full);
        const other = wins.length === 1 ? (wins[0] === a ? b : a) : undefined;
        const partial = [a, b].some((x) => x.digest !== full && x.digest !== EMPTY);
        if (wins.length === 2 || partial) {
          bad.push(`round ${i}: ${describe(a, full)} / ${describe(b, full)}`);
        } else if (!other) {
          broken.push(`round ${i}: nobody got it (${describe(a, full)} / ${describe(b, full)})`);
        } else if (gone(other)) enoent++;
        else if (other.rc === 0 && other.digest === EMPTY) eof++;
        else broken.push(`round ${i}: the loser got ${describe(other, full)}`);
      }
      if (bad.length > 0) return { outcome: "exposed", observed: bad.slice(0, 3).join("; ") };
      if (broken.length > 0) return { outcome: "error", reason: broken.slice(0, 3).join("; ") };
      for (const r of rounds) {
        const late = await consumedWithin(w, roleOf(state!, r).target);
        if (late) return { outcome: "error", reason: `Every round had one winner, but ${late}.` };
      }
      return {
        outcome: "protected",
        observed: `${rounds.length} rounds, one winner each: the other reader got ENOENT ${enoent}×, was paused and read end-of-file ${eof}×`,
      };
    },
  },
  "once.no-host-copy": {
    fixtures: ["once"],
    async measure({ pass }, [state]): Promise<Measurement> {
      if (!pass.cli) return hostless(pass.backend.engine.kind);
      const w = state!.workload!;
      const scope = await pass.storageScope();
      if (scope.roots.length === 0)
        return { outcome: "error", reason: "The engine names no storage directory to scan." };
      const needles = onceNeedles(pass, state!);
      const extra = await upperDir(pass, w);
      const ids = [w.containerId, w.objectId];
      const tmpNeedles = [...needles.values()].flatMap((v) => [
        Buffer.from(v),
        Buffer.from(Buffer.from(v).toString("base64")),
      ]);
      const tmpDirs = async () => {
        const fresh = (await readdir(tmpdir()).catch(() => [] as string[]))
          .filter((n) => !pass.tmpBaseline.has(n))
          .map((n) => join(tmpdir(), n));
        return [...new Set([...fresh, keyholeStateDir()])];
      };
      // Control: a harmless marker written into the workload's writable layer must be found,
      // so a scan that finds nothing has shown that it looks where a careless copy would land.
      const canary = `kh-once-canary-${pass.tag}-${Date.now().toString(36)}`;
      await pass.sh(w, script(`echo ${canary} > /tmp/kh-once-canary`), {
        note: "a non-secret marker into the writable layer (the scan's control)",
      });
      const withCanary = new Map([...needles, ["canary", canary]]);
      // 1. While `pending` is unread: its writer holds the value, waiting for a reader.
      pass.procs.sample();
      const scanned = await scanStorage(scope, withCanary, extra, ids);
      const before = { ...scanned, hits: scanned.hits.filter((h) => h.value !== "canary") };
      if (scanned.problems.length > 0) {
        recordScan(pass, scanned, "scan while a read-once value is unread");
        return {
          outcome: "error",
          reason: `The storage scan cannot be trusted: ${scanned.problems.join("; ")}`,
        };
      }
      if (!scanned.hits.some((h) => h.value === "canary")) {
        recordScan(pass, scanned, "control scan");
        return {
          outcome: "error",
          reason: `The storage scan did not find the marker written into the workload's writable layer (${extra.length} layer dir(s) known), so it cannot show that no copy exists.`,
        };
      }
      recordScan(
        pass,
        before,
        "while a read-once value is unread: engine storage and the writable layer",
      );
      const tmpBefore = await filesHolding(await tmpDirs(), pass.startedAt - 1000, tmpNeedles);
      // 2. Positive control: the value really was there to be found, and is read now.
      const pending = roleOf(state!, "pending");
      const read = parseRead(
        await readAs(
          pass,
          w,
          USERS.alice,
          [[pending.target, "p"]],
          "uid 2000 reads the value that was unread during the first scan",
        ),
        "p",
      );
      pass.procs.sample();
      if (read?.rc !== 0 || read.digest !== sha256(pending.value)) {
        return {
          outcome: "error",
          reason: `The unread value could not be read afterwards (${describe(read, sha256(pending.value))}), so the first scan did not look while it was pending.`,
        };
      }
      // 3. After it was read.
      const after = await scanStorage(scope, needles, extra, ids);
      recordScan(pass, after, "after it was read");
      if (after.problems.length > 0) {
        return {
          outcome: "error",
          reason: `The storage scan cannot be trusted: ${after.problems.join("; ")}`,
        };
      }
      const tmpAfter = await filesHolding(await tmpDirs(), pass.startedAt - 1000, tmpNeedles);
      pass.record({
        where: "host",
        argv: ["(walk in node)", tmpdir(), keyholeStateDir()],
        stdout: [...tmpBefore.hits, ...tmpAfter.hits].join("\n"),
        note: `temp and state dirs: ${tmpBefore.looked} + ${tmpAfter.looked} new file(s) read`,
      });
      const hits = [...before.hits, ...after.hits];
      const tmpHits = [...tmpBefore.hits, ...tmpAfter.hits];
      if (hits.length > 0 || tmpHits.length > 0) {
        return {
          outcome: "exposed",
          observed: [hits.length ? summarizeHits(hits) : "", ...tmpHits.slice(0, 2)]
            .filter(Boolean)
            .join("; "),
        };
      }
      return {
        outcome: "protected",
        observed: `no copy (the control marker was found): ${scope.roots.length} storage root(s) + writable layer scanned twice (${before.candidates}+${after.candidates} candidates), temp/state dirs ${tmpBefore.looked}+${tmpAfter.looked} new files`,
      };
    },
  },
  "once.not-in-secret-store": {
    fixtures: ["once"],
    async measure({ pass }): Promise<Measurement> {
      const cli = pass.cli;
      if (!cli) return hostless(pass.backend.engine.kind);
      // Positive control: a secret of this pass must show in the listing, so an empty list
      // cannot pass for "not there".
      let control: string | undefined;
      if (pass.caps.engineSecretStore) {
        const handle = await pass.createSecret("once-control", pass.newValue("once-control"));
        control = handle.name;
      }
      const ls = await cli.run(["secret", "ls", "--format", "{{.Name}}"]);
      pass.record({
        where: "host",
        argv: [cli.binary, "secret", "ls", "--format", "{{.Name}}"],
        exitCode: ls.code,
        stdout: ls.stdout,
        stderr: ls.stderr,
      });
      if (ls.code !== 0 && !pass.caps.engineSecretStore && /swarm/i.test(ls.stderr)) {
        return {
          outcome: "protected",
          observed: "the engine has no secret store (not a swarm manager)",
        };
      }
      if (ls.code !== 0)
        return {
          outcome: "error",
          reason: `The engine's secret list could not be read: ${ls.stderr.trim().slice(0, 200)}`,
        };
      const names = ls.stdout
        .split("\n")
        .map((n) => n.trim())
        .filter(Boolean);
      if (control && !names.includes(control)) {
        return {
          outcome: "error",
          reason: `The engine's secret list lacks the control secret ${control} this check just created, so it cannot show what is missing.`,
        };
      }
      const own = (await pass.backend.listSecrets()).map((s) => s.name);
      const strangers = [...names.filter((n) => n.includes(pass.tag)), ...own].filter(
        (n) => !pass.secretNames.has(n),
      );
      if (strangers.length > 0)
        return {
          outcome: "exposed",
          observed: `secrets the pass never created: ${[...new Set(strangers)].slice(0, 3).join(", ")}`,
        };
      return {
        outcome: "protected",
        observed: `${names.length} engine secret(s)${control ? `, the control ${control} among them` : ""}; none made for the read-once values`,
      };
    },
  },
  "once.host-argv-environ": {
    fixtures: ["once"],
    async measure({ pass }): Promise<Measurement> {
      const procs = pass.procs;
      if (procs.unavailable)
        return {
          outcome: "error",
          reason: `Host processes cannot be sampled: ${procs.unavailable}.`,
        };
      await procs.settle();
      const hits = procs.hits().filter((h) => h.value.startsWith("once-"));
      pass.record({
        where: "host",
        argv: ["(read /proc/*/cmdline and /proc/*/environ in node)"],
        stdout: hits.map((h) => `pid ${h.pid} ${h.comm} ${h.where} [${h.value}]`).join("\n"),
        note: `${procs.samples} samples of up to ${procs.maxProcesses} host processes, taken while read-once writers waited and readers read`,
      });
      if (procs.samples === 0)
        return { outcome: "error", reason: "No host process sample was taken." };
      return hits.length > 0
        ? {
            outcome: "exposed",
            observed: `value in ${hits
              .slice(0, 3)
              .map((h) => `${h.comm}[${h.pid}] ${h.where}`)
              .join(", ")}`,
          }
        : { outcome: "protected", observed: `${procs.samples} samples, no read-once value` };
    },
  },
};
