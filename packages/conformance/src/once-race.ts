import { createHash, randomBytes } from "node:crypto";
import type { SecretBackend } from "@keyhole/core";

/** Options of {@link raceReadOnce}. */
export interface RaceReadOnceOptions {
  /** The probe image (`ensureProbeImage(...)` from @keyhole/probe). */
  image: string;
  /** How many rounds (one FIFO each, two readers racing for it). Default 50. */
  rounds?: number;
  /** Value size per round. Default 100 000 bytes: more than a pipe holds, so readers read in pieces. */
  bytes?: number;
  /** FIFOs per workload: rounds run in batches of this many deliveries per run. Default 10. */
  perRun?: number;
}

/** What {@link raceReadOnce} saw, counted over all rounds. */
export interface RaceReadOnceResult {
  rounds: number;
  /** Rounds where exactly one reader got the whole value and the other nothing. */
  oneWinner: number;
  /** Of those: the loser's open failed with ENOENT (it came after the unlink). */
  loserEnoent: number;
  /** Of those: the loser had opened in the same instant, was paused, then read end-of-file. */
  loserEof: number;
  /** Rounds where a reader got part of the value or other data (a split). */
  split: number;
  /** Rounds where both readers got the whole value. */
  both: number;
  /** Rounds where nobody got it. */
  nobody: number;
  /** Rounds whose `workload.consumed()` did not resolve. */
  notConsumed: number;
  /** One line per round that was not a clean one-winner round (digests only, never a value). */
  problems: string[];
}

const EMPTY = createHash("sha256").digest("hex");

const RO = [
  "h() { sha256sum | cut -c1-64; }",
  `ro() { ( cat -- "$1" 2>"/tmp/kh-$2.err"; echo $? > "/tmp/kh-$2.rc" ) | h > "/tmp/kh-$2.d"; echo "$2=$(cat "/tmp/kh-$2.d") rc=$(cat "/tmp/kh-$2.rc") err=$(head -n1 "/tmp/kh-$2.err")"; }`,
].join("\n");

/**
 * Races two readers (uid 2000, started together) for each of `rounds` read-once values and
 * counts the outcomes: the stress test behind `once.racing-readers-one-winner`, for adapter
 * authors who adopt read-once (`expect(r.oneWinner).toBe(r.rounds)`). Values are random, 100 kB
 * each, delivered as 2000:2000 0400; readers only print digests. The backend must declare
 * `readOnce`; everything it starts is stopped before this returns.
 *
 * @example
 * ```ts
 * const r = await raceReadOnce(backend, { image, rounds: 50 });
 * expect(r.split + r.both + r.nobody).toBe(0);
 * ```
 */
export async function raceReadOnce(
  backend: SecretBackend,
  options: RaceReadOnceOptions,
): Promise<RaceReadOnceResult> {
  const rounds = options.rounds ?? 50;
  const size = Math.min(options.bytes ?? 100_000, backend.capabilities.maxValueBytes);
  const perRun = options.perRun ?? 10;
  const result: RaceReadOnceResult = {
    rounds,
    oneWinner: 0,
    loserEnoent: 0,
    loserEof: 0,
    split: 0,
    both: 0,
    nobody: 0,
    notConsumed: 0,
    problems: [],
  };
  for (let start = 0; start < rounds; start += perRun) {
    const batch = Array.from({ length: Math.min(perRun, rounds - start) }, (_, i) => {
      const value = randomBytes(size).toString("base64").slice(0, size);
      return {
        round: start + i,
        target: `/run/keyhole-once/race-${start + i}`,
        digest: createHash("sha256").update(value).digest("hex"),
        value,
      };
    });
    const w = await backend.run({
      image: options.image,
      command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
      secrets: batch.map((b) => ({
        as: "file" as const,
        once: true as const,
        value: b.value,
        target: b.target,
        uid: 2000,
        gid: 2000,
        mode: 0o400,
      })),
    });
    try {
      const body = batch
        .map((b) => `ro ${b.target} r${b.round}a & ro ${b.target} r${b.round}b & wait`)
        .join("\n");
      const out = await w.exec(["sh", "-c", `${RO}\n${body}`], { user: "2000" });
      for (const b of batch) {
        const a = parse(out.stdout, `r${b.round}a`);
        const c = parse(out.stdout, `r${b.round}b`);
        const full = (r: Parsed | undefined) => r?.rc === 0 && r.digest === b.digest;
        const other = (r: Parsed | undefined) => r && r.digest !== b.digest && r.digest !== EMPTY;
        if (other(a) || other(c)) {
          result.split++;
          result.problems.push(`round ${b.round}: split or other data`);
        } else if (full(a) && full(c)) {
          result.both++;
          result.problems.push(`round ${b.round}: both readers got the whole value`);
        } else if (!full(a) && !full(c)) {
          result.nobody++;
          result.problems.push(
            `round ${b.round}: nobody got it (${a?.err ?? "?"} / ${c?.err ?? "?"})`,
          );
        } else {
          const loser = full(a) ? c : a;
          if (loser && loser.rc !== 0 && /No such file/i.test(loser.err)) {
            result.oneWinner++;
            result.loserEnoent++;
          } else if (loser && loser.rc === 0 && loser.digest === EMPTY) {
            result.oneWinner++;
            result.loserEof++;
          } else {
            result.nobody++;
            result.problems.push(`round ${b.round}: the loser's result is unreadable`);
          }
        }
        const consumed = await w.consumed?.(b.target).then(
          () => true,
          () => false,
        );
        if (consumed !== true) result.notConsumed++;
      }
    } finally {
      await w.stop();
    }
  }
  return result;
}

interface Parsed {
  digest: string;
  rc: number;
  err: string;
}

function parse(stdout: string, key: string): Parsed | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(`${key}=`));
  const m = /^[^=]+=([0-9a-f]{64}) rc=(\d+) err=(.*)$/.exec(line ?? "");
  return m ? { digest: m[1]!, rc: Number(m[2]), err: m[3]!.trim() } : undefined;
}
