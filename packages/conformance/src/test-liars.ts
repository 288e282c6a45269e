// Test helper (not shipped): backends that each break ONE promise quietly, wrapped around a
// real podmanFileBackend. The suite must catch every one of them, through both runners
// (runConformance and describeConformance): see liars.integration.test.ts.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  ExecResult,
  FileDelivery,
  RunSpec,
  SecretBackend,
  SecretValue,
  Workload,
} from "@keyhole/core";
import { podmanEnv } from "@keyhole/core";
import { podmanFileBackend } from "@keyhole/podman";
import { runCollect } from "./host-engine.js";
import type { CheckResult } from "./report.js";

/** One liar: how it lies, which checks show it, and what each of them must say. */
export interface Liar {
  /** Short name (the describe block is `liar <name>`). */
  name: string;
  /** The promise it breaks, quietly (its capabilities still declare it kept). */
  lie: string;
  /** The checks that look where the lie is (kept small: each pass starts real containers). */
  checks: string[];
  /** The checks that must fail under describeConformance (error, contradiction). */
  mustFail: string[];
  /** Asserts on the runConformance results (by check); returns what is wrong, or []. */
  judge(results: ReadonlyMap<string, CheckResult>): string[];
  /** A fresh liar backend. */
  make(): SecretBackend;
  /** Removes whatever the lie left on this machine (called once the test is done). */
  cleanup(): Promise<void>;
}

/** `real` with some members replaced; everything else is passed through. */
function wrap(real: SecretBackend, over: Partial<SecretBackend>): SecretBackend {
  return {
    id: real.id,
    capabilities: real.capabilities,
    engine: real.engine,
    runId: real.runId,
    ready: () => real.ready(),
    createSecret: (name, value, options) => real.createSecret(name, value, options),
    replaceSecret: (secret, value) => real.replaceSecret(secret, value),
    removeSecret: (secret) => real.removeSecret(secret),
    listSecrets: () => real.listSecrets(),
    run: (spec: RunSpec) => real.run(spec),
    dispose: () => real.dispose(),
    [Symbol.asyncDispose]: () => real.dispose(),
    ...over,
  };
}

/** `w` with members replaced. */
function wrapWorkload(w: Workload, over: Partial<Workload>): Workload {
  return {
    containerId: w.containerId,
    objectId: w.objectId,
    backendId: w.backendId,
    fileTargets: w.fileTargets,
    exec: (argv, options) => w.exec(argv, options),
    scrub: (target) => w.scrub(target),
    stop: () => w.stop(),
    [Symbol.asyncDispose]: () => w.stop(),
    ...over,
  };
}

function outcome(results: ReadonlyMap<string, CheckResult>, id: string): string {
  const r = results.get(id);
  return r
    ? `${r.outcome}${r.contradiction ? " + contradiction" : ""}${r.reason ? ` (${r.reason})` : ""}`
    : "missing";
}

/** Each of `ids` must be `error`. */
function allError(results: ReadonlyMap<string, CheckResult>, ids: string[]): string[] {
  return ids
    .filter((id) => results.get(id)?.outcome !== "error")
    .map((id) => `${id}: ${outcome(results, id)}, expected error`);
}

/** `id` must be `exposed` with a contradiction (an invariant or a promise broken). */
function exposedContradiction(results: ReadonlyMap<string, CheckResult>, id: string): string[] {
  const r = results.get(id);
  return r?.outcome === "exposed" && r.contradiction
    ? []
    : [`${id}: ${outcome(results, id)}, expected exposed + contradiction`];
}

const ENV_CHECKS = [
  "env.child-inherits",
  "env.exec-session-sees",
  "env.proc-environ-after-unset",
  "env.other-uid-sees",
  "env.same-uid-proc-environ",
  "env.argv-visible-in-ps",
  "env.engine-inspect-shows",
];

/** The liars, in the order the tests run them. */
export function liars(): Liar[] {
  const tempFiles: string[] = [];
  const leftSecrets: string[] = [];
  const fileChecks = [
    "file.default-path-owner-mode",
    "file.other-uid-reads-default",
    "file.uid-gid-mode-honoured",
    "file.delete-refused",
  ];
  return [
    {
      name: "drop-env",
      lie: "declares envDelivery: true, silently drops every env delivery",
      checks: ["env.*"],
      mustFail: ENV_CHECKS,
      judge: (r) => allError(r, ENV_CHECKS),
      make: () => {
        const real = podmanFileBackend();
        return wrap(real, {
          run: (spec) =>
            real.run({ ...spec, secrets: (spec.secrets ?? []).filter((d) => d.as !== "env") }),
        });
      },
      cleanup: async () => {},
    },
    {
      name: "move-file",
      lie: "puts every file somewhere other than its target, and reports the target anyway",
      checks: fileChecks,
      mustFail: fileChecks,
      judge: (r) => allError(r, fileChecks),
      make: () => {
        const real = podmanFileBackend();
        return wrap(real, {
          run: async (spec) => {
            const secrets = (spec.secrets ?? []).map((d) =>
              d.as === "file" && !d.once
                ? ({ ...d, target: `moved-${d.secret.name}` } satisfies FileDelivery)
                : d,
            );
            const w = await real.run({ ...spec, secrets });
            const claimed = (spec.secrets ?? [])
              .filter((d): d is FileDelivery => d.as === "file" && !d.once)
              .map((d) => {
                const t = d.target ?? d.secret.name;
                return t.startsWith("/") ? t : `/run/secrets/${t}`;
              });
            return wrapWorkload(w, { fileTargets: claimed });
          },
        });
      },
      cleanup: async () => {},
    },
    {
      name: "ignore-ownership",
      lie: "declares fileOwnership and fileMode, silently drops uid/gid/mode",
      checks: ["file.uid-gid-mode-honoured", "file.env-unaffected"],
      mustFail: ["file.uid-gid-mode-honoured"],
      judge: (r) => exposedContradiction(r, "file.uid-gid-mode-honoured"),
      make: () => {
        const real = podmanFileBackend();
        const strip = (d: FileDelivery): FileDelivery => {
          const { uid: _u, gid: _g, mode: _m, ...rest } = d;
          return rest;
        };
        return wrap(real, {
          run: (spec) =>
            real.run({
              ...spec,
              secrets: (spec.secrets ?? []).map((d) => (d.as === "file" && !d.once ? strip(d) : d)),
            }),
        });
      },
      cleanup: async () => {},
    },
    {
      name: "temp-file",
      lie: "keeps a copy of every value in a file in the temp dir",
      checks: ["file.default-path-owner-mode", "hygiene.temp-files"],
      mustFail: ["hygiene.temp-files"],
      judge: (r) => exposedContradiction(r, "hygiene.temp-files"),
      make: () => {
        const real = podmanFileBackend();
        return wrap(real, {
          createSecret: (name, value, options) => {
            const path = join(tmpdir(), `kh-liar-${randomBytes(4).toString("hex")}.cache`);
            tempFiles.push(path);
            writeFileSync(
              path,
              typeof value === "string" ? value : Buffer.from(value as Uint8Array),
            );
            return real.createSecret(name, value, options);
          },
        });
      },
      cleanup: async () => {
        for (const f of tempFiles.splice(0)) rmSync(f, { force: true });
      },
    },
    {
      name: "argv-leak",
      lie: "starts a short-lived host process with the value as an argument",
      checks: ["file.default-path-owner-mode", "hygiene.host-argv-environ"],
      mustFail: ["hygiene.host-argv-environ"],
      judge: (r) => exposedContradiction(r, "hygiene.host-argv-environ"),
      make: () => {
        const real = podmanFileBackend();
        return wrap(real, {
          createSecret: async (name, value, options) => {
            if (typeof value === "string") {
              // `true` ignores its arguments and ends within milliseconds.
              await new Promise<void>((done) => execFile("true", [value], () => done()));
            }
            return real.createSecret(name, value, options);
          },
        });
      },
      cleanup: async () => {},
    },
    {
      name: "copy-after-dispose",
      lie: "leaves a secret of the run in the engine after dispose",
      checks: ["file.default-path-owner-mode", "lifecycle.cleanup"],
      mustFail: ["lifecycle.cleanup"],
      judge: (r) => exposedContradiction(r, "lifecycle.cleanup"),
      make: () => {
        const real = podmanFileBackend();
        let last: { name: string; value: SecretValue } | undefined;
        return wrap(real, {
          createSecret: (name, value, options) => {
            if (typeof value === "string") last = { name, value };
            return real.createSecret(name, value, options);
          },
          dispose: async () => {
            await real.dispose();
            if (!last) return;
            // Straight through the engine's CLI, the value on stdin: the copy dispose "forgot".
            leftSecrets.push(last.name);
            // Through `sh`'s pipe: podman 4.3 wants a FIFO on stdin for `-`, not Node's socket.
            const r = await runCollect(
              "sh",
              ["-c", 'cat | podman secret create "$0" -', last.name],
              {
                env: podmanEnv({ ...process.env, ...real.engine.env }),
                input: String(last.value),
              },
            );
            if (r.code !== 0) throw new Error(`liar could not leave its copy: ${r.stderr}`);
          },
        });
      },
      cleanup: async () => {
        for (const name of leftSecrets.splice(0)) {
          await runCollect("podman", ["secret", "rm", name], { env: podmanEnv(process.env) });
        }
      },
    },
    {
      name: "silent-exec",
      lie: "every exec session in its workloads prints nothing and exits 0",
      checks: [
        "env.child-inherits",
        "file.other-uid-reads-default",
        "file.capdrop-blocks-write",
        "limits.max-bytes",
      ],
      mustFail: [
        "env.child-inherits",
        "file.other-uid-reads-default",
        "file.capdrop-blocks-write",
        "limits.max-bytes",
      ],
      judge: (r) =>
        allError(r, [
          "env.child-inherits",
          "file.other-uid-reads-default",
          "file.capdrop-blocks-write",
          "limits.max-bytes",
        ]),
      make: () => {
        const real = podmanFileBackend();
        const silent: ExecResult = { exitCode: 0, stdout: "", stderr: "" };
        return wrap(real, {
          run: async (spec) =>
            wrapWorkload(await real.run(spec), { exec: async () => ({ ...silent }) }),
        });
      },
      cleanup: async () => {},
    },
  ];
}
