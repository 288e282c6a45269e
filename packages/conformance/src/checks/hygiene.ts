import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isKeyholeError, type KeyholeErrorCode, keyholeStateDir } from "@keyhole/core";
import { MAX_BYTES_PROBED } from "../fixtures.js";
import type { Measurement } from "../judge.js";
import type { Pass } from "../pass.js";
import type { CheckImpl } from "./types.js";

/** Text of an error worth scanning: message, stack and the cause's message and stack. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause =
    error.cause instanceof Error
      ? `${error.cause.message}\n${error.cause.stack ?? ""}`
      : String(error.cause ?? "");
  return `${error.message}\n${error.stack ?? ""}\n${cause}`;
}

/**
 * Files under `dirs` (directories, or files themselves) modified since `since` (ms) that hold
 * one of `needles`; skips anything larger than 16 MiB and `node_modules`. Read in-process: the values never leave Node.
 */
export async function filesHolding(
  dirs: readonly string[],
  since: number,
  needles: readonly Buffer[],
  maxDepth = 8,
): Promise<{ hits: string[]; looked: number }> {
  const hits: string[] = [];
  let looked = 0;
  const look = async (path: string): Promise<void> => {
    try {
      const st = await stat(path);
      if (!st.isFile() || st.mtimeMs < since || st.size > 16 * 1024 * 1024) return;
      looked++;
      const data = await readFile(path);
      if (needles.some((n) => data.includes(n))) hits.push(path);
    } catch {
      // vanished or unreadable: not ours
    }
  };
  const engineSets = join(keyholeStateDir(), "sets");
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > maxDepth) return;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      // Not a directory: a file given as a root.
      if (depth === 0) await look(dir);
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        // Engine sets' root filesystems are engines' storage (the rest.* scans read them), not
        // files keyhole wrote.
        if (e.name !== "node_modules" && e.name !== ".git" && path !== engineSets)
          await walk(path, depth + 1);
      } else if (e.isFile()) {
        await look(path);
      }
    }
  };
  for (const d of dirs) await walk(d, 0);
  return { hits, looked };
}

function needlesOf(pass: Pass): Buffer[] {
  return [...pass.textValues.values()].flatMap((v) => [
    Buffer.from(v),
    Buffer.from(Buffer.from(v).toString("base64")),
  ]);
}

export const hygieneChecks: Record<string, CheckImpl> = {
  "hygiene.errors-redacted": {
    fixtures: [],
    async measure({ pass }): Promise<Measurement> {
      const first = pass.newValue("err");
      const second = pass.newValue("err2");
      const third = pass.newValue("err3");
      const secret = await pass.createSecret("err", first);
      const tries: Array<[string, KeyholeErrorCode[], () => Promise<unknown>]> = [
        [
          "createSecret of an existing name",
          ["SECRET_EXISTS"],
          () => pass.createSecret("err", second),
        ],
      ];
      const max = pass.caps.maxValueBytes;
      if (max < MAX_BYTES_PROBED) {
        const over = first.repeat(Math.ceil((max + 1) / first.length)).slice(0, max + 1);
        tries.push([
          "createSecret one byte over maxValueBytes",
          ["SECRET_TOO_LARGE"],
          () => pass.createSecret("err-big", over),
        ]);
      }
      tries.push(["removeSecret", [], () => pass.backend.removeSecret(secret)]);
      tries.push([
        "removeSecret of a removed secret",
        ["SECRET_NOT_FOUND"],
        () => pass.backend.removeSecret(secret),
      ]);
      tries.push([
        "replaceSecret of a removed secret",
        pass.caps.replaceInPlace
          ? ["SECRET_NOT_FOUND"]
          : ["UNSUPPORTED_DELIVERY", "SECRET_NOT_FOUND"],
        () => pass.backend.replaceSecret(secret, third),
      ]);
      const leaks: string[] = [];
      const contradictions: string[] = [];
      const codes: string[] = [];
      for (const [what, expected, attempt] of tries) {
        try {
          await attempt();
          if (expected.length > 0)
            contradictions.push(`${what} succeeded; expected ${expected.join(" or ")}.`);
          pass.record({ where: "host", argv: [what], note: "succeeded" });
        } catch (error) {
          const code = isKeyholeError(error) ? error.code : "untyped";
          codes.push(code);
          if (pass.redactor.leaks(errorText(error))) leaks.push(`${what} (${code})`);
          if (expected.length === 0 || !expected.includes(code as KeyholeErrorCode)) {
            contradictions.push(
              `${what} threw ${code}${expected.length ? `, expected ${expected.join(" or ")}` : ""}.`,
            );
          }
          pass.record({
            where: "host",
            argv: [what],
            note: `threw ${code}: ${errorText(error).split("\n")[0]}`,
          });
        }
      }
      if (codes.length === 0) {
        return {
          outcome: "error",
          reason: "Positive control failed: no attempt threw, so no error text was examined.",
          contradictions,
        };
      }
      return {
        outcome: leaks.length > 0 ? "exposed" : "protected",
        observed:
          leaks.length > 0
            ? `value in: ${leaks.join(", ")}`
            : `${codes.length} errors (${codes.join(", ")}) hold no value`,
        contradictions,
      };
    },
  },
  "hygiene.temp-files": {
    fixtures: [],
    async measure({ pass }): Promise<Measurement> {
      // Only what appeared in the temp dir since the pass started (a temp dir of its own, or a
      // file written straight into it), plus keyhole's state dir: walking all of a shared /tmp
      // would cost minutes on a busy machine and read other people's files.
      const tmp = tmpdir();
      const fresh = (await readdir(tmp).catch(() => [] as string[]))
        .filter((name) => !pass.tmpBaseline.has(name))
        .map((name) => join(tmp, name));
      // Positive control: a canary file written now, in a new entry of the temp dir, holding a
      // canary needle; the walk must find it, or it did not really read what it claims to.
      const canaryDir = await mkdtemp(join(tmp, "kh-canary-"));
      const canary = Buffer.from(`kh-canary-${randomBytes(12).toString("hex")}`);
      await writeFile(join(canaryDir, "canary"), canary);
      const dirs = [...new Set([...fresh, canaryDir, keyholeStateDir()])];
      let walked: { hits: string[]; looked: number };
      try {
        walked = await filesHolding(dirs, pass.startedAt - 1000, [...needlesOf(pass), canary]);
      } finally {
        await rm(canaryDir, { recursive: true, force: true });
      }
      const canaryFound = walked.hits.includes(join(canaryDir, "canary"));
      const hits = walked.hits.filter((h) => !h.startsWith(`${canaryDir}/`));
      const looked = walked.looked;
      if (!canaryFound) {
        return {
          outcome: "error",
          reason: `Positive control failed: the walk did not find the canary file it wrote to ${canaryDir}.`,
        };
      }
      pass.record({
        where: "host",
        argv: ["(walk in node)", ...dirs],
        stdout: hits.join("\n"),
        note: `${looked} file(s) written since the pass started were read (new entries of ${tmp} and keyhole's state dir); ${hits.length} hold a value`,
      });
      return {
        outcome: hits.length > 0 ? "exposed" : "protected",
        observed:
          hits.length > 0
            ? `value in ${hits.slice(0, 3).join(", ")}`
            : `${looked} new file(s) checked, none holds a value`,
      };
    },
  },
  "hygiene.host-argv-environ": {
    fixtures: [],
    async measure({ pass }): Promise<Measurement> {
      const procs = pass.procs;
      if (procs.unavailable)
        return {
          outcome: "unmeasurable",
          reason: `Host processes cannot be sampled: ${procs.unavailable}.`,
        };
      await procs.settle();
      // Positive control: the sampler sees a process whose argv holds a canary it watches.
      const seen = await procs.canary();
      if (!seen) {
        return {
          outcome: "error",
          reason: "Positive control failed: the /proc sampler did not see a canary process's argv.",
        };
      }
      const hits = procs.hits();
      pass.record({
        where: "host",
        argv: ["(read /proc/*/cmdline and /proc/*/environ in node)"],
        stdout: hits
          .map((h) => `pid ${h.pid} ${h.comm} ${h.where} [${h.value}] (${h.via ?? "sample"})`)
          .join("\n"),
        note: `${procs.spawns} processes started by this Node process checked as spawned; ${procs.samples} samples of up to ${procs.maxProcesses} host processes (container processes excluded by PID namespace)`,
      });
      return {
        outcome: hits.length > 0 ? "exposed" : "protected",
        observed:
          hits.length > 0
            ? `value in ${hits
                .slice(0, 3)
                .map((h) => `${h.comm}[${h.pid}] ${h.where}`)
                .join(", ")}`
            : `${procs.spawns} spawned processes and ${procs.samples} samples of ≤${procs.maxProcesses} processes, no value`,
      };
    },
  },
};
