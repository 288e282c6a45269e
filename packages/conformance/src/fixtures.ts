import { randomBytes } from "node:crypto";
import {
  isKeyholeError,
  ONCE_DIR,
  type RunSpec,
  SECRETS_DIR,
  type SecretDelivery,
  type SecretHandle,
  type Workload,
} from "@keyhole/core";
import type { BooleanCapability } from "./catalogue.js";
import type { Gate } from "./judge.js";
import { type Pass, type ProbeUser, q, sha256, USERS } from "./pass.js";
import type { Evidence } from "./report.js";

/**
 * The workload configurations checks look at. Fixtures the backend declares it supports share
 * one container per group; a fixture it declares unsupported is tried alone (expecting
 * `UNSUPPORTED_DELIVERY`, so usually no container starts).
 */
export type FixtureId =
  | "env"
  | "file"
  | "owned"
  | "outside"
  | "capdrop"
  | "scrub"
  | "big"
  | "binary"
  | "replace"
  | "once";

/** The env variable an env fixture delivers into. */
export const SECRET_ENV = "KH_SECRET";
/** A plain (non-secret) env variable of the file group, for `file.env-unaffected`. */
export const PLAIN_ENV = "KH_PLAIN";
/** Where the outside-target fixture asks for its file. */
export const OUTSIDE_TARGET = "/etc/keyhole-outside-secret";
/** Rounds of `once.racing-readers-one-winner` (one FIFO each). */
export const ONCE_RACE_ROUNDS = 8;
/** Size of each racing value: more than a pipe holds (64 KiB), so a reader needs several reads. */
export const ONCE_RACE_BYTES = 100_000;
/** Largest value `limits.max-bytes` really sends (a backend may declare more). */
export const MAX_BYTES_PROBED = 8 * 1024 * 1024;

/** What a fixture knows once set up: its values, secrets and where its file should be. */
export interface FixtureData {
  value?: string;
  bytes?: Uint8Array;
  secret?: SecretHandle;
  /** Absolute path the contract says the file appears at. */
  target?: string;
  /** The path the adapter reported in `workload.fileTargets`. */
  reportedTarget?: string;
  /** Extra facts (e.g. the outcome of a max+1 create). */
  facts: Record<string, string>;
  /** For `replace`: the value before replacement. */
  oldValue?: string;
  /** For `owned`: the plain env value beside the restricted file. */
  plain?: string;
  /** For `once`: each read-once delivery by role (`bin`, `second`, `denied`, `pending`, `race-<i>`). */
  once?: Record<string, { target: string; value: string | Uint8Array }>;
}

/**
 * The positive control of a fixture: proof, from inside the workload, that its delivery
 * happened (the intended reader gets the right digest; PID 1 held the env variable before it
 * ran `unset`). Measured in the exec session that waits for the workload to be ready, so it
 * costs no extra round trip.
 */
export interface FixtureControl {
  ok: boolean;
  /** What was seen (`uid 2000 reads the value at /run/secrets/x`) or what was missing. */
  observed: string;
  /** The exec session that measured it (redacted). */
  evidence?: Evidence;
}

/** A fixture after its group was started (or refused). */
export interface FixtureState {
  id: FixtureId;
  gate: Gate;
  workload?: Workload;
  data: FixtureData;
  /** Set once the workload ran: whether the delivery is proven. */
  control?: FixtureControl;
}

/** One line a fixture's positive control runs (as `user`), printing `key=<digest>`. */
interface ControlProbe {
  user: ProbeUser;
  /** Shell lines (using the probe prelude) printing `key=…`. */
  lines: string;
  key: string;
  /** Digests that prove the delivery; empty: any digest (the file is there and readable). */
  want: string[];
  /** What the digest proves, for `observed`. */
  what: string;
}

interface Prepared {
  /** The fixture's positive controls. */
  controls: ControlProbe[];
  deliveries: SecretDelivery[];
  env?: Record<string, string>;
  capDrop?: string[];
  allowOutside?: boolean;
  /** Shell lines PID 1 runs before it unsets KH_SECRET. */
  init?: string[];
  data: FixtureData;
}

interface FixtureDef {
  group: string;
  requires: readonly BooleanCapability[];
  prepare(pass: Pass): Promise<Prepared>;
}

function defaultTarget(secret: SecretHandle, target?: string): string {
  const t = target ?? secret.name;
  return t.startsWith("/") ? t : `${SECRETS_DIR}/${t}`;
}

/** The digest a probe prints for `env | grep '^KH_SECRET='` when the variable holds `value`. */
export function envLineDigest(value: string, name = SECRET_ENV): string {
  return sha256(`${name}=${value}\n`);
}

/** A control: `user` reads `target` and gets one of `want` (any digest when `want` is empty). */
function readControl(
  key: string,
  user: ProbeUser,
  target: string,
  want: string[],
  what: string,
): ControlProbe {
  return { user, key, lines: `rd ${q(target)} ${key}`, want, what: `${what} at ${target}` };
}

const FIXTURES: Record<FixtureId, FixtureDef> = {
  env: {
    group: "env",
    requires: ["envDelivery"],
    async prepare(pass) {
      const value = pass.newValue("env");
      const secret = await pass.createSecret("env", value);
      return {
        controls: [
          {
            user: "root",
            key: "ctl_env",
            lines: 'echo "ctl_env=$(cat /tmp/kh-pid1-before.sha)"',
            want: [envLineDigest(value)],
            what: `PID 1 held ${SECRET_ENV} before it ran unset`,
          },
        ],
        deliveries: [{ secret, as: "env", name: SECRET_ENV }],
        // fig. 4-2: a child started before `unset` inherits it, one started after does not;
        // fig. 4-8: a long-lived uid-2000 process holds it; fig. 4-9: a root process got it as argv.
        init: [
          // The positive control: PID 1 itself held the variable before `unset`.
          `env | grep "^${SECRET_ENV}=" | sha256sum | cut -c1-64 > /tmp/kh-pid1-before.sha`,
          `sh -c 'env | grep "^${SECRET_ENV}=" | sha256sum | cut -c1-64 > /tmp/kh-child-before.sha'`,
          "su -s /bin/sh alice -c 'exec sleep 2147483' &",
          "echo $! > /tmp/kh-alice.pid",
          `sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' kh-runner "$${SECRET_ENV}" &`,
          "echo $! > /tmp/kh-runner.pid",
        ],
        data: { value, secret, facts: {} },
      };
    },
  },
  file: {
    group: "file",
    requires: ["fileDelivery"],
    async prepare(pass) {
      const value = pass.newValue("file");
      const secret = await pass.createSecret("file", value);
      const target = defaultTarget(secret);
      return {
        controls: [
          readControl("ctl_file", "root", target, [sha256(value)], "root reads the value"),
        ],
        deliveries: [{ secret, as: "file" }],
        // fig. 5-6: a consumer reads the value from stdin and keeps only a digest of it.
        init: [
          `sh -c 'read -r kh_tok; printf %s "$kh_tok" | sha256sum | cut -c1-64 > /tmp/kh-consumer.sha; trap "exit 0" TERM; while :; do sleep 1; done' kh-consumer < ${q(target)} &`,
          "echo $! > /tmp/kh-consumer.pid",
        ],
        data: { value, secret, target, facts: {} },
      };
    },
  },
  owned: {
    group: "file",
    requires: ["fileDelivery", "fileOwnership", "fileMode"],
    async prepare(pass) {
      const value = pass.newValue("owned");
      const plain = pass.newPlainValue();
      const secret = await pass.createSecret("owned", value);
      const target = defaultTarget(secret);
      return {
        controls: [
          readControl(
            "ctl_owned",
            "alice",
            target,
            [sha256(value)],
            "uid 2000 (the owner) reads the value",
          ),
          {
            user: "root",
            key: "ctl_plain",
            lines: `echo "ctl_plain=$(env | grep '^${PLAIN_ENV}=' | h)"`,
            want: [envLineDigest(plain, PLAIN_ENV)],
            what: `an exec session has the plain variable ${PLAIN_ENV}`,
          },
        ],
        deliveries: [{ secret, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
        // fig. 5-5: a plain variable beside the restricted file.
        env: { [PLAIN_ENV]: plain },
        data: { value, plain, secret, target, facts: {} },
      };
    },
  },
  outside: {
    group: "file",
    requires: ["fileDelivery", "targetOutsideSecretsDir"],
    async prepare(pass) {
      const value = pass.newValue("outside");
      const secret = await pass.createSecret("outside", value);
      return {
        controls: [
          readControl(
            "ctl_outside",
            "root",
            OUTSIDE_TARGET,
            [sha256(value)],
            "root reads the value",
          ),
        ],
        deliveries: [{ secret, as: "file", target: OUTSIDE_TARGET }],
        allowOutside: true,
        data: { value, secret, target: OUTSIDE_TARGET, facts: {} },
      };
    },
  },
  capdrop: {
    group: "capdrop",
    requires: ["fileDelivery", "capDrop"],
    async prepare(pass) {
      const value = pass.newValue("capdrop");
      const secret = await pass.createSecret("capdrop", value);
      const target = defaultTarget(secret);
      return {
        controls: [
          readControl("ctl_capdrop", "root", target, [sha256(value)], "root reads the value"),
        ],
        deliveries: [{ secret, as: "file" }],
        capDrop: ["DAC_OVERRIDE"],
        data: { value, secret, target, facts: {} },
      };
    },
  },
  scrub: {
    group: "capdrop",
    requires: ["fileDelivery", "scrubAfterUse"],
    async prepare(pass) {
      const value = pass.newValue("scrub");
      const secret = await pass.createSecret("scrub", value);
      // fig. 5-3: mode 0644 with CAP_DAC_OVERRIDE dropped, where the backend can express them.
      const target = defaultTarget(secret);
      return {
        controls: [
          readControl("ctl_scrub", "root", target, [sha256(value)], "root reads the value"),
        ],
        deliveries: [
          { secret, as: "file", scrub: true, ...(pass.caps.fileMode ? { mode: 0o644 } : {}) },
        ],
        ...(pass.caps.capDrop ? { capDrop: ["DAC_OVERRIDE"] } : {}),
        data: { value, secret, target, facts: {} },
      };
    },
  },
  big: {
    group: "limits",
    requires: ["fileDelivery"],
    async prepare(pass) {
      const declared = pass.caps.maxValueBytes;
      const size = Math.max(1, Math.min(declared, MAX_BYTES_PROBED));
      // Printable, so a truncation or re-encoding shows in the digest and size alike.
      const value = randomBytes(Math.ceil((size * 3) / 4) + 3)
        .toString("base64")
        .slice(0, size);
      pass.addValue("big", value);
      const facts: Record<string, string> = { size: String(size), declared: String(declared) };
      if (declared <= MAX_BYTES_PROBED) {
        const over = `${value}x`;
        pass.addValue("big+1", over);
        try {
          await pass.createSecret("big1", over);
          facts.overLimit = "accepted";
        } catch (error) {
          facts.overLimit = isKeyholeError(error) ? error.code : "untyped error";
          facts.overLimitMessage = error instanceof Error ? error.message : String(error);
        }
      } else {
        facts.overLimit = "not probed";
      }
      const secret = await pass.createSecret("big", value);
      const target = defaultTarget(secret);
      return {
        // Any content: limits.max-bytes itself judges whether it is intact.
        controls: [readControl("ctl_big", "root", target, [], "root reads a file")],
        deliveries: [{ secret, as: "file" }],
        data: { value, secret, target, facts },
      };
    },
  },
  binary: {
    group: "limits",
    requires: ["fileDelivery", "binarySafe"],
    async prepare(pass) {
      // NUL, invalid UTF-8 (0xff 0xfe, a lone continuation byte, a broken 2-byte sequence), CR/LF.
      const bytes = new Uint8Array(
        Buffer.concat([
          randomBytes(16),
          Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0d, 0x80, 0xc3, 0x28, 0x00]),
          randomBytes(16),
          Buffer.from([0x00]),
        ]),
      );
      pass.addValue("binary", bytes);
      const secret = await pass.createSecret("binary", bytes);
      const target = defaultTarget(secret);
      return {
        // Any content: limits.binary-exact itself judges whether the bytes are exact.
        controls: [readControl("ctl_binary", "root", target, [], "root reads a file")],
        deliveries: [{ secret, as: "file" }],
        data: { bytes, secret, target, facts: {} },
      };
    },
  },
  once: {
    group: "once",
    requires: ["fileDelivery", "readOnce"],
    async prepare(pass) {
      // Binary for the byte-exact read: NUL, invalid UTF-8, CR/LF.
      const bin = new Uint8Array(
        Buffer.concat([
          randomBytes(24),
          Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0d, 0x80, 0xc3, 0x28, 0x00]),
          randomBytes(24),
        ]),
      );
      pass.addValue("once-binary", bin);
      const once: NonNullable<FixtureData["once"]> = {
        bin: { target: `${ONCE_DIR}/bin`, value: bin },
        second: { target: `${ONCE_DIR}/second`, value: pass.newValue("once-second") },
        denied: { target: `${ONCE_DIR}/denied`, value: pass.newValue("once-denied") },
        // Read only by once.no-host-copy, between its two scans: unread while the first runs.
        pending: { target: `${ONCE_DIR}/pending`, value: pass.newValue("once-pending") },
      };
      const size = Math.min(ONCE_RACE_BYTES, pass.caps.maxValueBytes);
      for (let i = 0; i < ONCE_RACE_ROUNDS; i++) {
        const value = randomBytes(size).toString("base64").slice(0, size);
        pass.addValue(`once-race-${i}`, value);
        once[`race-${i}`] = { target: `${ONCE_DIR}/race-${i}`, value };
      }
      return {
        // No read control here: reading a read-once FIFO consumes it. Each once.* check proves
        // its own delivery (the intended reader's digest, end markers, ENOENT vs EACCES).
        controls: [],
        deliveries: Object.values(once).map((o) => ({
          as: "file" as const,
          once: true as const,
          value: o.value,
          target: o.target,
          uid: 2000,
          gid: 2000,
          mode: 0o400,
        })),
        data: { once, facts: {} },
      };
    },
  },
  replace: {
    group: "replace",
    requires: ["fileDelivery", "replaceInPlace"],
    async prepare(pass) {
      const oldValue = pass.newValue("replace-old");
      const value = pass.newValue("replace-new");
      const created = await pass.createSecret("replace", oldValue);
      const secret = await pass.backend.replaceSecret(created, value);
      pass.procs.sample();
      const target = defaultTarget(secret);
      return {
        // Old or new: lifecycle.replace itself judges which one arrived.
        controls: [
          readControl(
            "ctl_replace",
            "root",
            target,
            [sha256(value), sha256(oldValue)],
            "root reads the old or the new value",
          ),
        ],
        deliveries: [{ secret, as: "file" }],
        data: { value, oldValue, secret, target, facts: {} },
      };
    },
  },
};

/** The capabilities a fixture's delivery needs. */
export function fixtureRequires(id: FixtureId): readonly BooleanCapability[] {
  return FIXTURES[id].requires;
}

/**
 * Starts fixtures on demand, sharing one workload per group among the fixtures the backend
 * declares, and remembers every state so each fixture is set up at most once per pass.
 */
export class FixturePool {
  readonly #pass: Pass;
  readonly #needed: ReadonlySet<FixtureId>;
  readonly #groups = new Map<string, Promise<Map<FixtureId, FixtureState>>>();

  constructor(pass: Pass, needed: Iterable<FixtureId>) {
    this.#pass = pass;
    this.#needed = new Set(needed);
  }

  /** True when the backend declares every capability fixture `id` needs. */
  declared(id: FixtureId): boolean {
    return FIXTURES[id].requires.every((c) => this.#pass.caps[c] === true);
  }

  /** The group key a fixture starts in: its shared group when declared, else alone. */
  groupOf(id: FixtureId): string {
    return this.declared(id) ? FIXTURES[id].group : `solo:${id}`;
  }

  /** The fixture's state, starting its group's workload the first time. */
  async get(id: FixtureId): Promise<FixtureState> {
    const key = this.groupOf(id);
    let group = this.#groups.get(key);
    if (!group) {
      const members = key.startsWith("solo:")
        ? [id]
        : [...this.#needed].filter((f) => this.groupOf(f) === key);
      if (!members.includes(id)) members.push(id);
      group = this.#start(members);
      this.#groups.set(key, group);
    }
    const state = (await group).get(id);
    if (!state) throw new Error(`keyhole conformance bug: fixture ${id} missing from its group.`);
    return state;
  }

  async #start(members: FixtureId[]): Promise<Map<FixtureId, FixtureState>> {
    const pass = this.#pass;
    const states = new Map<FixtureId, FixtureState>();
    const prepared: Array<[FixtureId, Prepared]> = [];
    for (const id of members) {
      pass.throwIfAborted();
      try {
        prepared.push([id, await FIXTURES[id].prepare(pass)]);
      } catch (error) {
        states.set(id, { id, gate: gateOf(error), data: { facts: {} } });
      }
    }
    if (prepared.length === 0) return states;
    const deliveries = prepared.flatMap(([, p]) => p.deliveries);
    const env = Object.assign({}, ...prepared.map(([, p]) => p.env ?? {})) as Record<
      string,
      string
    >;
    const capDrop = [...new Set(prepared.flatMap(([, p]) => p.capDrop ?? []))];
    const init = prepared.flatMap(([, p]) => p.init ?? []);
    const spec: RunSpec = {
      image: pass.image,
      command: ["sh", "-c", pid1Script(init)],
      secrets: deliveries,
      labels: { "keyhole.conformance": prepared.map(([f]) => f).join(".") },
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(capDrop.length > 0 ? { capDrop } : {}),
      ...(prepared.some(([, p]) => p.allowOutside) ? { allowTargetOutsideSecretsDir: true } : {}),
    };
    let workload: Workload | undefined;
    let gate: Gate = { kind: "accepted" };
    try {
      workload = await pass.run(
        spec,
        prepared.map(([f]) => f),
      );
    } catch (error) {
      gate = gateOf(error);
    }
    let controls = new Map<FixtureId, FixtureControl>();
    if (workload) {
      try {
        controls = await waitReady(pass, workload, prepared);
      } catch (error) {
        gate = {
          kind: "error",
          message: error instanceof Error ? error.message : String(error),
          accepted: true,
        };
      }
    }
    let index = 0;
    for (const [id, p] of prepared) {
      const data = p.data;
      for (const d of p.deliveries) {
        if (d.as === "file" && d.once !== true && workload)
          data.reportedTarget = workload.fileTargets[index];
        if (d.as === "file" && d.once !== true) index++;
      }
      const control = controls.get(id);
      states.set(id, {
        id,
        gate,
        ...(workload ? { workload } : {}),
        data,
        ...(control ? { control } : {}),
      });
    }
    return states;
  }
}

/** Maps a thrown error to a gate: `UNSUPPORTED_DELIVERY` → unsupported, anything else → error. */
export function gateOf(error: unknown): Gate {
  const message = error instanceof Error ? error.message : String(error);
  if (isKeyholeError(error, "UNSUPPORTED_DELIVERY")) return { kind: "unsupported", message };
  return { kind: "error", message: isKeyholeError(error) ? `${error.code}: ${message}` : message };
}

/**
 * PID 1 of every probe workload: runs the fixtures' init lines, unsets KH_SECRET (fig. 4-3/4-4),
 * records that the unset took, marks itself ready and then idles, exiting at once on SIGTERM so
 * a stop never waits for the engine's grace period.
 */
export function pid1Script(init: readonly string[]): string {
  return [
    ...init,
    `unset ${SECRET_ENV}`,
    `env | grep -c '^${SECRET_ENV}=' > /tmp/kh-unset.count`,
    `sh -c 'env | grep "^${SECRET_ENV}=" | sha256sum | cut -c1-64 > /tmp/kh-child-after.sha'`,
    ": > /tmp/kh-ready",
    "trap 'exit 0' TERM",
    "while :; do sleep 1; done",
  ].join("\n");
}

/**
 * Waits for PID 1's ready mark, then runs every fixture's positive controls, all in the one
 * exec session a workload needs anyway (root part first; a control as another user is a part
 * of its own). Throws when the workload never became ready.
 */
async function waitReady(
  pass: Pass,
  workload: Workload,
  prepared: ReadonlyArray<readonly [FixtureId, Prepared]>,
): Promise<Map<FixtureId, FixtureControl>> {
  const probes = prepared.flatMap(([id, p]) => p.controls.map((c) => ({ id, c })));
  const rootLines = probes.filter(({ c }) => c.user === "root").map(({ c }) => c.lines);
  const others = probes.filter(({ c }) => c.user !== "root");
  const parts: Array<[ProbeUser, string]> = [
    [
      "root",
      [
        "i=0; while [ ! -e /tmp/kh-ready ]; do i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.1; done",
        ...rootLines,
      ].join("\n"),
    ],
    ...others.map(({ c }): [ProbeUser, string] => [c.user, c.lines]),
  ];
  const { outputs, result, argv } = await pass.runParts(workload, parts);
  if (outputs[0]?.problem) {
    throw new Error(
      `The probe workload did not become ready (waited up to 30 s; exit ${result.exitCode}): ${outputs[0].problem} ${pass.redactor.clip(result.stderr, 300)}`,
    );
  }
  const evidence = pass.redactor.evidence({
    where: "container",
    user: USERS.root,
    argv,
    exitCode: result.exitCode,
    stdout: result.stdout,
    ...(result.stderr ? { stderr: result.stderr } : {}),
    note: "positive controls: the workload is ready, and each delivery arrived where and as whom it should",
  });
  const controls = new Map<FixtureId, FixtureControl>();
  for (const [id] of prepared) {
    const seen: string[] = [];
    let missing: string | undefined;
    for (const { c } of probes.filter((p) => p.id === id)) {
      const at = c.user === "root" ? 0 : 1 + others.findIndex((o) => o.c === c);
      const out = outputs[at];
      const got = out?.kv.get(c.key) ?? "";
      if (out?.problem) missing ??= `${c.what}: not measured (${out.problem})`;
      else if (!/^[0-9a-f]{64}$/.test(got))
        missing ??= `${c.what}: not so (uid ${USERS[c.user]}: ${got.replace(/^denied\s*/, "") || "no output"})`;
      else if (c.want.length > 0 && !c.want.includes(got))
        missing ??= `${c.what}: not so (uid ${USERS[c.user]} reads other content)`;
      else seen.push(c.what);
    }
    controls.set(id, {
      ok: missing === undefined,
      observed: missing ?? seen.join("; "),
      evidence,
    });
  }
  return controls;
}
