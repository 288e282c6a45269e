// Test helper (not shipped): runs one check's real interpretation on synthetic probe output.
// A real Pass over the in-memory fake backend; workloads whose exec answers with the bodies a
// scenario gives (the harness adds the @@part / @@end framing a real shell would print, or
// leaves it out to simulate a probe that did not run to its end); a fake engine CLI for the
// host checks; a temporary directory as the engine's storage.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Capabilities, ExecResult, SecretBackend, Workload } from "@keyhole/core";
import { checkById } from "./catalogue.js";
import { IMPLEMENTATIONS } from "./checks/index.js";
import {
  envLineDigest,
  type FixtureId,
  type FixtureState,
  PLAIN_ENV,
  SECRET_ENV,
} from "./fixtures.js";
import type { CliResult, EngineCli } from "./host-engine.js";
import { Pass, sha256, USERS } from "./pass.js";
import type { CheckResult } from "./report.js";
import { checkWithStates } from "./run-conformance.js";
import { fakeBackend } from "./test-fake-backend.js";

/** Every capability a check can need, declared. */
export const ALL_CAPS: Capabilities = {
  envDelivery: true,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: true,
  targetOutsideSecretsDir: true,
  capDrop: true,
  engineSecretStore: true,
  encryptedAtRest: false,
  replaceInPlace: true,
  maxValueBytes: 64,
  binarySafe: true,
};

/** The values and paths of one synthetic run, for building replies. */
export interface Values {
  env: string;
  file: string;
  owned: string;
  plain: string;
  outside: string;
  capdrop: string;
  scrub: string;
  big: string;
  binary: Uint8Array;
  replaceOld: string;
  replaceNew: string;
  /** The fake workload's container id. */
  containerId: string;
  /** A temp dir standing for the engine's storage (graph root). */
  storage: string;
  target(id: FixtureId): string;
}

/** What one exec printed: one body for a plain probe, one per part for a batched one. */
export type Reply = string | string[];

/** One synthetic case of a check. */
export interface Case {
  /** The exec replies, in the order the check runs its probes. */
  replies?: (v: Values) => Reply[];
  /** Answers of the fake engine CLI (`undefined`: exit 1). */
  cli?: (args: string[], v: Values) => Partial<CliResult> | undefined;
  /** Sets the scene (files in the fake storage, pass state) before the check runs. */
  prepare?: (pass: Pass, v: Values) => void | Promise<void>;
  /** Capability overrides. */
  caps?: Partial<Capabilities>;
  /** A backend wrapper (e.g. one whose errors hold a value). */
  backend?: (b: SecretBackend, v: Values) => SecretBackend;
}

/** How to frame the replies: as a shell that ran to its end, or one that never printed its end. */
export type Framing = "complete" | "no-end";

/** Options of {@link runSynthetic}. */
export interface SyntheticOptions {
  framing?: Framing;
  /** Fail every fixture's positive control. */
  failControls?: boolean;
}

const PART = /^echo '@@part=(\d+)'\n(?:\(|su -s \/bin\/sh (\w+) -c)/gm;

/** The part users of a parts script, in order. */
function partUsers(script: string): string[] {
  return [...script.matchAll(PART)].map((m) => USERS[(m[2] ?? "root") as keyof typeof USERS]);
}

function frame(reply: Reply, script: string, user: string, framing: Framing): string {
  const end = (uid: string) => (framing === "complete" ? `@@end=0 ${uid}\n` : "");
  const body = (b: string) => (b === "" || b.endsWith("\n") ? b : `${b}\n`);
  if (Array.isArray(reply)) {
    const users = partUsers(script);
    return reply.map((b, i) => `@@part=${i}\n${body(b)}${end(users[i] ?? "0")}`).join("");
  }
  return `${body(reply)}${end(user)}`;
}

/**
 * Runs check `id` with `c`'s synthetic output through the runner's own judging path
 * (`checkWithStates`) and returns the result.
 */
export async function runSynthetic(
  id: string,
  c: Case,
  options: SyntheticOptions = {},
): Promise<Omit<CheckResult, "durationMs">> {
  const def = checkById(id);
  const impl = IMPLEMENTATIONS[id];
  if (!impl) throw new Error(`no implementation for ${id}`);
  const storage = mkdtempSync(join(tmpdir(), "kh-synthetic-storage-"));
  try {
    const containerId = randomBytes(32).toString("hex");
    const caps = { ...ALL_CAPS, ...c.caps };
    const hex = () => randomBytes(16).toString("hex");
    const v: Values = {
      env: hex(),
      file: hex(),
      owned: hex(),
      plain: hex(),
      outside: hex(),
      capdrop: hex(),
      scrub: hex(),
      big: randomBytes(48).toString("base64"),
      binary: new Uint8Array(
        Buffer.concat([randomBytes(8), Buffer.from([0, 0xff]), randomBytes(8)]),
      ),
      replaceOld: hex(),
      replaceNew: hex(),
      containerId,
      storage,
      target: (f) => (f === "outside" ? "/etc/keyhole-outside-secret" : `/run/secrets/kh-${f}`),
    };
    const replies = c.replies?.(v) ?? [];
    const framing = options.framing ?? "complete";
    const workload: Workload = {
      containerId,
      objectId: containerId,
      backendId: "fake",
      fileTargets: [],
      async exec(argv, opts): Promise<ExecResult> {
        const reply = replies.shift();
        if (reply === undefined) return { exitCode: 1, stdout: "", stderr: "no reply left" };
        return {
          exitCode: 0,
          stdout: frame(reply, argv[2] ?? "", opts?.user ?? "0", framing),
          stderr: "",
        };
      },
      async scrub() {},
      async stop() {},
      async [Symbol.asyncDispose]() {},
    };
    const cli: EngineCli = {
      kind: "podman",
      binary: "podman",
      async run(args) {
        const r = c.cli?.(args, v);
        return { code: r ? 0 : 1, stdout: "", stderr: r ? "" : "synthetic: no answer", ...r };
      },
    };
    const base = fakeBackend({ declared: caps });
    const backend = c.backend ? c.backend(base, v) : base;
    const pass = new Pass(backend, "synthetic", undefined, undefined, { cli });
    try {
      const states: FixtureState[] = [];
      for (const f of impl.fixtures) states.push(await fixture(pass, f, v, workload, options));
      pass.workloads.push(workload);
      await c.prepare?.(pass, v);
      return await checkWithStates(def, pass, states);
    } finally {
      await pass.procs.stop();
    }
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
}

async function fixture(
  pass: Pass,
  id: FixtureId,
  v: Values,
  workload: Workload,
  options: SyntheticOptions,
): Promise<FixtureState> {
  const value =
    id === "replace"
      ? v.replaceNew
      : id === "binary"
        ? undefined
        : (v[id as keyof Values] as string);
  const data: FixtureState["data"] = { target: v.target(id), facts: {} };
  data.reportedTarget = data.target!;
  if (id === "binary") {
    pass.addValue("binary", v.binary);
    data.bytes = v.binary;
    data.secret = await pass.createSecret("binary", v.binary);
  } else {
    if (id !== "big") pass.textValues.set(id, value!);
    pass.addValue(id, value!);
    data.value = value!;
    data.secret = await pass.createSecret(id, value!);
  }
  if (id === "owned") {
    data.plain = v.plain;
    pass.textValues.set("plain", v.plain);
    pass.addValue("plain", v.plain);
  }
  if (id === "replace") data.oldValue = v.replaceOld;
  if (id === "big") {
    data.facts = {
      size: String(v.big.length),
      declared: String(v.big.length),
      overLimit: "SECRET_TOO_LARGE",
    };
  }
  return {
    id,
    gate: { kind: "accepted" },
    workload,
    data,
    control: options.failControls
      ? { ok: false, observed: "synthetic: the delivery was not seen" }
      : { ok: true, observed: "synthetic: seen" },
  };
}

// ── Reply building blocks ──────────────────────────────────────────────────────────────────

/** sha256 of nothing: what `… | sha256sum` prints when grep found no line. */
export const EMPTY = sha256("");
/** A `rd` denial as busybox prints it. */
export const denied = (f: string, why = "Permission denied") =>
  `denied cat: can't open '${f}': ${why}`;
/** A missing file, as `rd` prints it. */
export const noSuchFile = (f: string) => denied(f, "No such file or directory");
/** The env line digest of `KH_SECRET`. */
export const envDigest = (value: string) => envLineDigest(value, SECRET_ENV);
/** The env line digest of `KH_PLAIN`. */
export const plainDigest = (value: string) => envLineDigest(value, PLAIN_ENV);
/** A mountinfo line for `point`. */
export function mountLine(point: string, fsType: string, root = "/", source = fsType): string {
  return `36 35 0:31 ${root} ${point} ro,relatime - ${fsType} ${source} rw`;
}

/** Lays out a fake Podman graph root with its positive controls (libpod's db, containers.json). */
export function fakeStorage(v: Values, options: { controls?: boolean; copy?: string } = {}): void {
  mkdirSync(join(v.storage, "libpod"), { recursive: true });
  mkdirSync(join(v.storage, "overlay-containers"), { recursive: true });
  mkdirSync(join(v.storage, "secrets"), { recursive: true });
  if (options.controls !== false) {
    writeFileSync(join(v.storage, "libpod", "bolt_state.db"), `graphroot\0${v.storage}\0`);
    writeFileSync(
      join(v.storage, "overlay-containers", "containers.json"),
      JSON.stringify([{ id: v.containerId }]),
    );
  }
  if (options.copy !== undefined)
    writeFileSync(join(v.storage, "secrets", "data.json"), options.copy);
}

/** The fake CLI's `podman info` and `inspect` answers for a storage scan over `v.storage`. */
export function storageCli(args: string[], v: Values): Partial<CliResult> | undefined {
  if (args[0] === "info") return { stdout: JSON.stringify({ store: { graphRoot: v.storage } }) };
  if (args[0] === "inspect") return { stdout: "\n" };
  return undefined;
}
