import { isKeyholeError } from "@keyhole/core";
import { PLAIN_ENV } from "../fixtures.js";
import { unescapeMount } from "../host-scan.js";
import type { Measurement } from "../judge.js";
import { PS_LISTING, parseKv, q, script, sha256, USERS } from "../pass.js";
import {
  classify,
  deniedWith,
  type Errno,
  READ_DENIALS,
  REMOVE_DENIALS,
  WRITE_DENIALS,
} from "./denial.js";
import { deniedReason, showsValue } from "./env.js";
import type { CheckImpl } from "./types.js";

/** `444` → `0444`. */
function octal(mode: string | undefined): string {
  return mode ? mode.padStart(4, "0") : "?";
}

/** The `stat` line every file probe prints: owner names, mode, numeric ids, size. */
const STAT = (f: string) => `echo "stat=$(stat -c '%U:%G %a %u:%g %s' -- ${q(f)} 2>&1)"`;

interface Stat {
  names: string;
  mode: string;
  ids: string;
  size: string;
}

function parseStat(line: string | undefined): Stat | undefined {
  const m = /^(\S+) (\d+) (\d+:\d+) (\d+)$/.exec(line ?? "");
  return m ? { names: m[1]!, mode: m[2]!, ids: m[3]!, size: m[4]! } : undefined;
}

/** True when a CapEff hex mask holds CAP_DAC_OVERRIDE (bit 1). */
export function hasDacOverride(capEff: string | undefined): boolean {
  if (!capEff) return false;
  return (BigInt(`0x${capEff}`) & 2n) !== 0n;
}

/** One line of /proc/self/mountinfo. */
export interface MountInfo {
  root: string;
  point: string;
  options: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** Parses /proc/self/mountinfo text. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const f = left.split(" ");
    const r = right.split(" ");
    out.push({
      root: unescapeMount(f[3] ?? ""),
      point: unescapeMount(f[4] ?? ""),
      options: f[5] ?? "",
      fsType: r[0] ?? "",
      source: r[1] ?? "",
      superOptions: r[2] ?? "",
    });
  }
  return out;
}

/** The mount `path` lives on (longest mount point that contains it; the last one wins on ties). */
export function mountOf(path: string, mounts: readonly MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const prefix = m.point === "/" ? "/" : `${m.point}/`;
    if (path === m.point || path.startsWith(prefix)) {
      if (!best || m.point.length >= best.point.length) best = m;
    }
  }
  return best;
}

/** A short description of a mount for `observed`: `ext4 rw bind of /var/lib/… at /run/secrets/x`. */
export function describeMount(m: MountInfo): string {
  const rw = m.options.split(",").includes("ro") ? "ro" : "rw";
  const upper = /upperdir=([^,]+)/.exec(m.superOptions)?.[1];
  const from = m.root !== "/" ? ` bind of ${m.root}` : upper ? ` upperdir ${upper}` : "";
  return `${m.fsType} ${rw}${from} at ${m.point}`;
}

/** True when a mount reveals the host path of a copy on a disk filesystem. */
export function revealsDiskCopy(m: MountInfo): boolean {
  if (["tmpfs", "ramfs", "devtmpfs"].includes(m.fsType)) return false;
  return m.root !== "/" || /upperdir=/.test(m.superOptions);
}

/**
 * The `error` for a probe field that is neither the value's digest nor one of the denials this
 * check accepts (e.g. `No such file or directory`: the probe looked at nothing).
 */
function unrelated(
  who: string,
  field: string | undefined,
  accepted: readonly Errno[],
): Measurement {
  const r = classify(field);
  return {
    outcome: "error",
    reason: `${who}: ${r.kind === "denied" || r.kind === "failed" ? r.text : r.kind === "digest" ? "read other content" : "no output"} — ${accepted.length > 0 ? `not a ${accepted.join("/")} denial, so it` : "it"} proves nothing.`,
  };
}

/** A write probe's outcome: written (and read back), refused with an accepted errno, or neither. */
function writeOutcome(
  write: string | undefined,
  after: string | undefined,
  marker: string,
): "wrote" | "refused" | "unclear" {
  const w = classify(write);
  if (w.kind === "ok") return after === sha256(marker) ? "wrote" : "unclear";
  return deniedWith(w, WRITE_DENIALS) ? "refused" : "unclear";
}

export const fileChecks: Record<string, CheckImpl> = {
  "file.default-path-owner-mode": {
    fixtures: ["file"],
    note: "root stats and reads the file delivered with default options",
    parts: ([file]) => {
      const f = file!.data.target!;
      return [["root", `${STAT(f)}\nrd ${q(f)} read`]];
    },
    interpret([out], [file]) {
      const f = file!.data.target!;
      const kv = out!.kv;
      const st = parseStat(kv.get("stat"));
      if (!st)
        return {
          outcome: "error",
          reason: `No file at the default path ${f}: ${kv.get("stat") ?? ""}`,
        };
      const contradictions: string[] = [];
      if (file!.data.reportedTarget !== f) {
        contradictions.push(
          `workload.fileTargets reports ${file!.data.reportedTarget ?? "nothing"}, but the default target is ${f}.`,
        );
      }
      if (kv.get("read") !== sha256(file!.data.value!)) {
        contradictions.push(`The file at ${f} does not hold the value that was delivered.`);
      }
      return {
        outcome: Number.parseInt(st.mode, 8) & 0o004 ? "exposed" : "protected",
        observed: `${st.names} ${octal(st.mode)} ${f}`,
        contradictions,
      };
    },
  },
  "file.other-uid-reads-default": {
    fixtures: ["file"],
    note: "uid 3000 reads the file delivered with default options",
    parts: ([file]) => [["bob", `rd ${q(file!.data.target!)} read`]],
    interpret([out], [file]) {
      const read = out!.kv.get("read") ?? "";
      if (read === sha256(file!.data.value!))
        return { outcome: "exposed", observed: "uid 3000 reads it" };
      if (deniedWith(classify(read), READ_DENIALS))
        return { outcome: "protected", observed: `uid 3000: ${deniedReason(read)}` };
      return unrelated("uid 3000", read, READ_DENIALS);
    },
  },
  "file.uid-gid-mode-honoured": {
    fixtures: ["owned"],
    note: "stat as root, then read as uid 2000 (the owner) and uid 3000",
    parts: ([owned]) => {
      const f = owned!.data.target!;
      return [
        ["root", `${STAT(f)}\nrd ${q(f)} read`],
        ["alice", `rd ${q(f)} read`],
        ["bob", `rd ${q(f)} read`],
      ];
    },
    interpret([root, alice, bob], [owned]) {
      const f = owned!.data.target!;
      const st = parseStat(root!.kv.get("stat"));
      if (!st)
        return { outcome: "error", reason: `No file at ${f}: ${root!.kv.get("stat") ?? ""}` };
      const want = sha256(owned!.data.value!);
      const contradictions: string[] = [];
      if (st.ids !== "2000:2000" || st.mode !== "400") {
        contradictions.push(`Asked for 2000:2000 0400, the file is ${st.ids} ${octal(st.mode)}.`);
      }
      const aliceReads = alice!.kv.get("read") === want;
      if (!aliceReads) {
        contradictions.push(
          `The owner (uid 2000) cannot read it: ${deniedReason(alice!.kv.get("read"))}.`,
        );
      }
      const bobReads = bob!.kv.get("read") === want;
      if (!bobReads && !deniedWith(classify(bob!.kv.get("read")), READ_DENIALS)) {
        return { ...unrelated("uid 3000", bob!.kv.get("read"), READ_DENIALS), contradictions };
      }
      return {
        outcome: bobReads ? "exposed" : "protected",
        observed: `${st.ids} ${octal(st.mode)}; uid 2000 ${aliceReads ? "reads" : "denied"}; uid 3000 ${bobReads ? "reads" : deniedReason(bob!.kv.get("read"))}`,
        contradictions,
      };
    },
  },
  "file.env-unaffected": {
    fixtures: ["owned"],
    async measure({ pass }, [owned]) {
      const f = owned!.data.target!;
      const plain = owned!.data.plain!;
      const kv = parseKv(
        (
          await pass.sh(
            owned!.workload!,
            script(`rd ${q(f)} file`, `echo "plain=$(env | grep '^${PLAIN_ENV}=' | h)"`),
            {
              user: USERS.bob,
              note: "uid 3000: the 0400 file of uid 2000, then the plain env variable KH_PLAIN",
            },
          )
        ).stdout,
      );
      if (!/^[0-9a-f]{64}$/.test(kv.get("plain") ?? "")) {
        return { outcome: "error", reason: "uid 3000's session printed no digest of its env." };
      }
      const envVisible = kv.get("plain") === sha256(`${PLAIN_ENV}=${plain}\n`);
      const fileRead = classify(kv.get("file"));
      if (fileRead.kind !== "digest" && !deniedWith(fileRead, READ_DENIALS)) {
        return unrelated("uid 3000 reading the 0400 file", kv.get("file"), READ_DENIALS);
      }
      const fileSays = fileRead.kind === "digest" ? "file readable" : "file denied";
      return {
        outcome: envVisible ? "exposed" : "protected",
        observed: `uid 3000: ${fileSays}, ${PLAIN_ENV} ${envVisible ? "readable" : "not visible"}`,
      };
    },
  },
  "file.stdin-keeps-argv-clean": {
    fixtures: ["file"],
    note: "digest of what the consumer read from stdin, then uid 3000 lists every process's arguments",
    parts: () => [
      [
        "root",
        'echo "consumer=$(cat /tmp/kh-consumer.sha)"\necho "pid=$(cat /tmp/kh-consumer.pid)"',
      ],
      ["bob", PS_LISTING],
    ],
    interpret([root, bob], [file]) {
      const value = file!.data.value!;
      if (root!.kv.get("consumer") !== sha256(value)) {
        return {
          outcome: "error",
          reason: "The consumer fed by `< file` did not receive the value.",
        };
      }
      if (!/kh-consumer/.test(bob!.raw)) {
        return {
          outcome: "error",
          reason: "uid 3000's process listing does not show the consumer: it did not look at it.",
        };
      }
      const leaked = showsValue(bob!.raw, value);
      return {
        outcome: leaked ? "exposed" : "protected",
        observed: leaked
          ? "the value shows in a process's arguments"
          : `consumer (pid ${root!.kv.get("pid")}) got it on stdin; no argv holds it`,
      };
    },
  },
  "file.visible-in-proc-mounts": {
    fixtures: ["file"],
    note: "uid 3000 reads its mount table",
    parts: () => [["bob", "cat /proc/self/mountinfo"]],
    interpret([out], [file]) {
      const m = mountOf(file!.data.target!, parseMountInfo(out!.raw));
      if (!m) return { outcome: "error", reason: "uid 3000 could not read /proc/self/mountinfo." };
      return { outcome: revealsDiskCopy(m) ? "exposed" : "protected", observed: describeMount(m) };
    },
  },
  "file.target-outside-secrets-dir": {
    fixtures: ["outside"],
    note: "root reads the file at the outside target and the mount table",
    parts: ([outside]) => {
      const f = outside!.data.target!;
      return [
        ["root", `rd ${q(f)} read\n${STAT(f)}`],
        ["root", "cat /proc/self/mountinfo"],
      ];
    },
    interpret([file, mounts], [outside]) {
      const f = outside!.data.target!;
      const contradictions: string[] = [];
      if (file!.kv.get("read") !== sha256(outside!.data.value!)) {
        contradictions.push(
          `The file at ${f} does not hold the delivered value (${deniedReason(file!.kv.get("read"))}).`,
        );
      }
      const m = mountOf(f, parseMountInfo(mounts!.raw));
      if (!m)
        return { outcome: "error", reason: "Could not read /proc/self/mountinfo.", contradictions };
      const ownMount = m.point === f;
      return {
        outcome: ownMount ? "protected" : "exposed",
        observed: ownMount ? `own mount: ${describeMount(m)}` : `inside ${describeMount(m)}`,
        contradictions,
      };
    },
  },
  "file.root-overrides-mode": {
    fixtures: ["file"],
    async measure({ pass }, [file]) {
      const f = file!.data.target!;
      const marker = "keyhole-overwritten-by-root";
      const kv = parseKv(
        (
          await pass.sh(
            file!.workload!,
            script(
              STAT(f),
              'echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"',
              `wr ${q(f)} write ${q(marker)}`,
              `rd ${q(f)} after`,
            ),
            {
              note: "root (with the engine's default capabilities) overwrites the default secret file",
            },
          )
        ).stdout,
      );
      const st = parseStat(kv.get("stat"));
      if (!st)
        return { outcome: "error", reason: `No file at ${f} to write: ${kv.get("stat") ?? ""}` };
      const dac = hasDacOverride(kv.get("capeff"));
      const how = writeOutcome(kv.get("write"), kv.get("after"), marker);
      if (how === "unclear") return unrelated("root's write", kv.get("write"), WRITE_DENIALS);
      const wrote = how === "wrote";
      const modeSays = `${octal(st.mode)} file`;
      return {
        outcome: wrote ? "exposed" : "protected",
        observed: wrote
          ? `root overwrote the ${modeSays} (CAP_DAC_OVERRIDE ${dac ? "effective" : "absent"})`
          : `root's write refused: ${deniedReason(kv.get("write"))}`,
      };
    },
  },
  "file.write-shared-across-processes": {
    fixtures: ["file"],
    async measure({ pass }, [file]) {
      const f = file!.data.target!;
      const marker = "keyhole-shared-write";
      const [a, bob, root] = await pass.multi(
        file!.workload!,
        [
          ["root", `wr ${q(f)} write ${q(marker)}`],
          ["bob", `rd ${q(f)} read`],
          ["root", `rd ${q(f)} read`],
        ],
        "process A (root) writes a marker; process B (uid 3000), then C (root), read",
      );
      const w = classify(a!.get("write"));
      if (w.kind !== "ok") {
        if (!deniedWith(w, WRITE_DENIALS))
          return unrelated("root's write", a!.get("write"), WRITE_DENIALS);
        return {
          outcome: "protected",
          observed: `no process can write it: ${deniedReason(a!.get("write"))}`,
        };
      }
      const want = sha256(marker);
      for (const [who, out] of [
        ["uid 3000", bob],
        ["root", root],
      ] as const) {
        const r = classify(out!.get("read"));
        if (r.kind !== "digest" && !deniedWith(r, READ_DENIALS)) {
          return unrelated(`${who} reading after the write`, out!.get("read"), READ_DENIALS);
        }
      }
      const bobSees = bob!.get("read") === want;
      const seen = bobSees || root!.get("read") === want;
      const who = bobSees ? "uid 3000" : "root";
      return {
        outcome: seen ? "exposed" : "protected",
        observed: seen
          ? `a write by one process is what ${who} in another process reads`
          : "other processes still read the original",
      };
    },
  },
  "file.delete-refused": {
    fixtures: ["file"],
    async measure({ pass }, [file]) {
      const f = file!.data.target!;
      const kv = parseKv(
        (
          await pass.sh(
            file!.workload!,
            script(
              `[ -e ${q(f)} ] && echo before=yes || echo before=no`,
              `e=$(rm -f -- ${q(f)} 2>&1); echo "rm=$? $e"`,
              `[ -e ${q(f)} ] && echo exists=yes || echo exists=no`,
            ),
          )
        ).stdout,
      );
      if (kv.get("before") !== "yes") {
        return { outcome: "error", reason: `There was no file at ${f} to remove.` };
      }
      const gone = kv.get("exists") === "no";
      if (!gone && !deniedWith(classify(kv.get("rm")), REMOVE_DENIALS)) {
        return unrelated("root's rm", kv.get("rm"), REMOVE_DENIALS);
      }
      return {
        outcome: gone ? "exposed" : "protected",
        observed: gone ? "root removed it" : `rm refused: ${deniedReason(kv.get("rm"))}`,
      };
    },
  },
  "file.capdrop-blocks-write": {
    fixtures: ["capdrop"],
    async measure({ pass }, [cd]) {
      const f = cd!.data.target!;
      const marker = "keyhole-overwritten-without-dac-override";
      const kv = parseKv(
        (
          await pass.sh(
            cd!.workload!,
            script(
              STAT(f),
              'echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"',
              `wr ${q(f)} write ${q(marker)}`,
              `rd ${q(f)} after`,
            ),
            {
              note: "root, in a workload run with capDrop: [DAC_OVERRIDE], overwrites the default secret file",
            },
          )
        ).stdout,
      );
      if (!/^[0-9a-f]{16}$/.test(kv.get("capeff") ?? "")) {
        return { outcome: "error", reason: "The probe did not print root's CapEff mask." };
      }
      const dac = hasDacOverride(kv.get("capeff"));
      const st = parseStat(kv.get("stat"));
      if (!st)
        return { outcome: "error", reason: `No file at ${f} to write: ${kv.get("stat") ?? ""}` };
      const how = writeOutcome(kv.get("write"), kv.get("after"), marker);
      if (how === "unclear") return unrelated("root's write", kv.get("write"), WRITE_DENIALS);
      const wrote = how === "wrote";
      const contradictions = dac
        ? [
            `capDrop: ["DAC_OVERRIDE"] was accepted, but root's CapEff (${kv.get("capeff")}) still holds CAP_DAC_OVERRIDE.`,
          ]
        : [];
      return {
        outcome: wrote ? "exposed" : "protected",
        observed: `${st ? `${octal(st.mode)} file, ` : ""}CAP_DAC_OVERRIDE ${dac ? "effective" : "dropped"}; write ${wrote ? "succeeded" : `refused: ${deniedReason(kv.get("write"))}`}`,
        contradictions,
      };
    },
  },
  "file.scrub-after-use": {
    fixtures: ["scrub"],
    async measure({ pass }, [scrub]) {
      const f = scrub!.data.target!;
      const w = scrub!.workload!;
      const value = scrub!.data.value!;
      const want = sha256(value);
      const before = parseKv(
        (await pass.sh(w, script(STAT(f), `rd ${q(f)} read`), { note: "before scrub" })).stdout,
      );
      if (before.get("read") !== want) {
        return {
          outcome: "error",
          reason: `Before scrub, root cannot read the value at ${f}: ${deniedReason(before.get("read"))}.`,
        };
      }
      try {
        await w.scrub(f);
        pass.record({
          where: "host",
          argv: ["workload.scrub", f],
          note: "the adapter's scrub returned",
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        pass.record({ where: "host", argv: ["workload.scrub", f], note: `threw: ${message}` });
        return {
          outcome: "error",
          reason: `workload.scrub threw ${isKeyholeError(error) ? error.code : "an error"}: ${message}`,
        };
      }
      const [root, alice, bob] = await pass.multi(
        w,
        [
          [
            "root",
            `${STAT(f)}\nrd ${q(f)} read\necho "content=$(head -c 65536 ${q(f)} | base64 | tr -d '\\n')"`,
          ],
          ["alice", `rd ${q(f)} read`],
          ["bob", `rd ${q(f)} read`],
        ],
        "after scrub: root (digest and content, checked in node), uid 2000 and uid 3000 read the file",
      );
      // Later readers must really have looked: root reads the file (scrubbed content), and
      // uid 2000/3000 read it or are specifically denied.
      if (classify(root!.get("read")).kind !== "digest") {
        return unrelated("root reading after scrub", root!.get("read"), []);
      }
      for (const [who, out] of [
        ["uid 2000", alice],
        ["uid 3000", bob],
      ] as const) {
        const r = classify(out!.get("read"));
        if (r.kind !== "digest" && !deniedWith(r, READ_DENIALS)) {
          return unrelated(`${who} reading after scrub`, out!.get("read"), READ_DENIALS);
        }
      }
      const content = Buffer.from(root!.get("content") ?? "", "base64").toString("latin1");
      const leaks: string[] = [];
      if (root!.get("read") === want || content.includes(value.slice(0, 12))) leaks.push("root");
      if (alice!.get("read") === want) leaks.push("uid 2000");
      if (bob!.get("read") === want) leaks.push("uid 3000");
      const st = parseStat(root!.get("stat"));
      return {
        outcome: leaks.length > 0 ? "exposed" : "protected",
        observed:
          leaks.length > 0
            ? `after scrub ${leaks.join(", ")} still read old bytes`
            : `scrubbed in place (${st ? `${octal(st.mode)}, ${st.size} bytes` : "?"}); root, 2000, 3000 read no old bytes`,
      };
    },
  },
};
