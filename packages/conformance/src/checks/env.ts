import { envLineDigest, SECRET_ENV } from "../fixtures.js";
import type { Measurement } from "../judge.js";
import { PS_LISTING, parseKv, script, USERS } from "../pass.js";
import { classify, deniedWith, READ_DENIALS } from "./denial.js";
import type { CheckImpl } from "./types.js";

const DIGEST = /^[0-9a-f]{64}$/;

/** An `error` naming what a probe did not print. */
function missing(what: string): Measurement {
  return { outcome: "error", reason: `The probe did not print ${what}.` };
}

function exposedIf(hit: boolean, yes: string, no: string): Measurement {
  return { outcome: hit ? "exposed" : "protected", observed: hit ? yes : no };
}

/** What a `cat` failure said, e.g. `Permission denied`, for observed strings. */
export function deniedReason(field: string | undefined): string {
  if (!field) return "no output";
  const m = /:\s*([^:]+)$/.exec(field);
  return (m?.[1] ?? field).trim();
}

/** True when `text` holds the value or its first 12 characters (a truncated column still leaks). */
export function showsValue(text: string, value: string): boolean {
  return text.includes(value) || text.includes(value.slice(0, 12));
}

const ENVIRON_OF = (pid: string) =>
  `echo "environ=$(tr '\\0' '\\n' < /proc/${pid}/environ 2>/dev/null | grep '^${SECRET_ENV}=' | h)"`;

export const envChecks: Record<string, CheckImpl> = {
  "env.child-inherits": {
    fixtures: ["env"],
    note: "digests two children of PID 1 recorded of their KH_SECRET: one started before PID 1 ran `unset`, one after",
    parts: () => [
      [
        "root",
        'echo "before=$(cat /tmp/kh-child-before.sha)"\necho "after=$(cat /tmp/kh-child-after.sha)"',
      ],
    ],
    interpret([out], [env]) {
      const kv = out!.kv;
      if (!DIGEST.test(kv.get("before") ?? "") || !DIGEST.test(kv.get("after") ?? "")) {
        return missing("the digests both children of PID 1 recorded");
      }
      const want = envLineDigest(env!.data.value!);
      const after = kv.get("after") === want;
      return exposedIf(
        kv.get("before") === want,
        `a child started before unset has ${SECRET_ENV}; one started after ${after ? "has it too" : "does not"}`,
        `a child started before unset lacks ${SECRET_ENV}`,
      );
    },
  },
  "env.exec-session-sees": {
    fixtures: ["env"],
    note: "PID 1 ran `unset KH_SECRET` (unset_count: what its env showed after); a new exec session prints a digest of its own",
    parts: () => [
      [
        "root",
        `echo "unset_count=$(cat /tmp/kh-unset.count)"\necho "session=$(env | grep '^${SECRET_ENV}=' | h)"`,
      ],
    ],
    interpret([out], [env]) {
      const kv = out!.kv;
      if (!DIGEST.test(kv.get("session") ?? "")) return missing("the session's digest");
      if (kv.get("unset_count") !== "0") {
        return {
          outcome: "error",
          reason: `PID 1's \`unset ${SECRET_ENV}\` did not take (its env still counted ${kv.get("unset_count") || "nothing"}).`,
        };
      }
      return exposedIf(
        kv.get("session") === envLineDigest(env!.data.value!),
        `new exec session has ${SECRET_ENV} although PID 1 unset it`,
        `new exec session lacks ${SECRET_ENV}`,
      );
    },
  },
  "env.proc-environ-after-unset": {
    fixtures: ["env"],
    note: "root, then uid 3000, read PID 1's initial environment after it ran `unset`",
    parts: () => {
      const probe = `${ENVIRON_OF("1")}\nrd /proc/1/environ readable`;
      return [
        ["root", probe],
        ["bob", probe],
      ];
    },
    interpret([root, bob], [env]) {
      const want = envLineDigest(env!.data.value!);
      // Each reader either read /proc/1/environ or was specifically denied; anything else
      // (no such process, no output) proves nothing.
      for (const [who, out] of [
        ["root", root],
        ["uid 3000", bob],
      ] as const) {
        const read = classify(out!.kv.get("readable"));
        if (read.kind !== "digest" && !deniedWith(read, READ_DENIALS)) {
          return {
            outcome: "error",
            reason: `${who} could not read /proc/1/environ for an unrelated reason: ${read.kind === "ok" ? "?" : read.text}.`,
          };
        }
      }
      const rootHit = root!.kv.get("environ") === want;
      const bobHit = bob!.kv.get("environ") === want;
      const bobSays = bobHit
        ? "uid 3000 too"
        : `uid 3000: ${deniedReason(bob!.kv.get("readable"))}`;
      return exposedIf(
        rootHit || bobHit,
        `${rootHit ? "root" : "uid 3000"} reads it from /proc/1/environ; ${bobSays}`,
        `/proc/1/environ lacks ${SECRET_ENV}; ${bobSays}`,
      );
    },
  },
  "env.other-uid-sees": {
    fixtures: ["env"],
    async measure({ pass }, [env]) {
      // An exec session *started as* uid 3000 by the engine (the seed's `run -u`), not a su.
      const r = await pass.sh(
        env!.workload!,
        script('echo "uid=$(id -u)"', `echo "session=$(env | grep '^${SECRET_ENV}=' | h)"`),
        { user: USERS.bob, note: "an exec session the engine starts as uid 3000" },
      );
      const kv = parseKv(r.stdout);
      if (kv.get("uid") !== USERS.bob) {
        return {
          outcome: "error",
          reason: `The exec session ran as uid ${kv.get("uid") ?? "?"}, not 3000.`,
        };
      }
      if (!DIGEST.test(kv.get("session") ?? "")) return missing("the session's digest");
      return exposedIf(
        kv.get("session") === envLineDigest(env!.data.value!),
        `uid 3000 has ${SECRET_ENV}`,
        `uid 3000 lacks ${SECRET_ENV}`,
      );
    },
  },
  "env.same-uid-proc-environ": {
    fixtures: ["env"],
    note: "uid 2000, then uid 3000, read the environ of a long-lived uid-2000 process (a `sleep` PID 1 started via su)",
    parts: () => {
      const probe = [
        "p=$(cat /tmp/kh-alice.pid)",
        'echo "pid=$p"',
        'echo "owner=$(stat -c %u /proc/$p)"',
        ENVIRON_OF("$p"),
        "rd /proc/$p/environ readable",
      ].join("\n");
      return [
        ["alice", probe],
        ["bob", probe],
      ];
    },
    interpret([alice, bob], [env]) {
      const a = alice!.kv;
      const b = bob!.kv;
      if (a.get("owner") !== USERS.alice) {
        return {
          outcome: "error",
          reason: `The uid-2000 process is owned by ${a.get("owner") ?? "?"}.`,
        };
      }
      const want = envLineDigest(env!.data.value!);
      const aliceRead = classify(a.get("readable"));
      if (aliceRead.kind !== "digest" && !deniedWith(aliceRead, READ_DENIALS)) {
        return {
          outcome: "error",
          reason: `uid 2000 could not read /proc/${a.get("pid")}/environ for an unrelated reason: ${aliceRead.kind === "ok" ? "?" : aliceRead.text}.`,
        };
      }
      const bobRead = classify(b.get("readable"));
      if (bobRead.kind !== "digest" && !deniedWith(bobRead, READ_DENIALS)) {
        return {
          outcome: "error",
          reason: `uid 3000 could not read /proc/${b.get("pid")}/environ for an unrelated reason: ${bobRead.kind === "ok" ? "?" : bobRead.text}.`,
        };
      }
      const bobSays =
        b.get("environ") === want
          ? "uid 3000 reads it too"
          : `uid 3000: ${deniedReason(b.get("readable"))}`;
      return exposedIf(
        a.get("environ") === want,
        `uid 2000 reads /proc/${a.get("pid")}/environ of its other process; ${bobSays}`,
        `uid 2000 cannot read it (${deniedReason(a.get("readable"))}); ${bobSays}`,
      );
    },
  },
  "env.argv-visible-in-ps": {
    fixtures: ["env"],
    note: "uid 3000 lists processes; PID 1 started a root process with the value as an argument (fig. 4-9)",
    parts: () => [["bob", PS_LISTING]],
    interpret([out], [env]) {
      if (!/kh-runner/.test(out!.raw)) {
        return {
          outcome: "error",
          reason: "uid 3000 did not see the root process that got the value as an argument.",
        };
      }
      return exposedIf(
        showsValue(out!.raw, env!.data.value!),
        "uid 3000 sees the value in a root process's arguments",
        "uid 3000 sees the root process but not its arguments",
      );
    },
  },
  "env.engine-inspect-shows": {
    fixtures: ["env"],
    async measure({ pass }, [env]) {
      const cli = pass.cli;
      if (!cli) return hostless(pass.backend.engine.kind);
      const w = env!.workload!;
      const value = env!.data.value!;
      const needles = [value, Buffer.from(value).toString("base64")];
      const found: string[] = [];
      for (const id of new Set([w.containerId, w.objectId])) {
        const args = ["inspect", id];
        const r = await cli.run(args);
        pass.record({
          where: "host",
          argv: [cli.binary, ...args],
          exitCode: r.code,
          stdout: r.stdout,
          stderr: r.stderr,
        });
        if (r.code !== 0) {
          return {
            outcome: "error",
            reason: `${cli.binary} inspect ${id} failed: ${pass.redactor.clip(r.stderr, 300)}`,
          };
        }
        let doc: unknown;
        try {
          doc = JSON.parse(r.stdout);
        } catch {
          doc = undefined;
        }
        if (!Array.isArray(doc) || doc.length === 0) {
          return {
            outcome: "error",
            reason: `${cli.binary} inspect ${id} printed no inspect document to look at.`,
          };
        }
        for (const path of jsonPathsHolding(doc, needles)) {
          found.push(`${id === w.containerId ? "container" : "object"} ${path}`);
        }
      }
      const tool = `${cli.binary.split("/").pop()} inspect`;
      return exposedIf(
        found.length > 0,
        `${tool} shows it at ${found.slice(0, 3).join(", ")}`,
        `${tool} does not show it`,
      );
    },
  },
};

/** The `unmeasurable` a check that needs the engine CLI returns for engines keyhole has no CLI for. */
export function hostless(kind: string): Measurement {
  return {
    outcome: "unmeasurable",
    reason: `This check asks the engine's own CLI, bypassing the adapter, and keyhole has none for engine kind "${kind}". If your backend drives Podman or Docker, declare engine.kind "podman" or "docker" (and engine.env / engine.endpoint) so it can.`,
  };
}

/** JSON paths (`[0].Config.Env[3]`) of strings (and keys) in `doc` that contain one of `needles`. */
export function jsonPathsHolding(doc: unknown, needles: readonly string[], path = ""): string[] {
  if (typeof doc === "string") return needles.some((n) => doc.includes(n)) ? [path || "."] : [];
  if (Array.isArray(doc))
    return doc.flatMap((v, i) => jsonPathsHolding(v, needles, `${path}[${i}]`));
  if (doc && typeof doc === "object") {
    return Object.entries(doc).flatMap(([k, v]) => [
      ...(needles.some((n) => k.includes(n)) ? [`${path}.${k} (key)`] : []),
      ...jsonPathsHolding(v, needles, `${path}.${k}`),
    ]);
  }
  return [];
}
