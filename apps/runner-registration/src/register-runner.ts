import { randomBytes } from "node:crypto";
import {
  EngineError,
  redact,
  registerSecretValue,
  type SecretBackend,
  type SecretHandle,
  type Workload,
} from "@keyhole/core";
import {
  CONFIG_PATH,
  INIT_SCRIPT,
  JOB_PATH,
  JOB_SCRIPT,
  PS_WATCH_SCRIPT,
  REGISTER_PATH,
  REGISTER_SCRIPT,
} from "./container-scripts.js";

/**
 * How the token is kept from the runner user after the init step:
 * - `"read-once"`: one container; the token is delivered read-once (`once: true`): a root-only
 *   FIFO that the init step's `register < token` empties and that is gone (ENOENT) the moment it
 *   was opened. No copy in the engine's secret store, on a disk or in a tmpfs file, nothing to
 *   scrub. Needs `capabilities.readOnce` (Podman, Docker, Swarm).
 * - `"scrub"`: one container; the token file is delivered writable (`scrub: true`) and
 *   overwritten in place (`workload.scrub`) right after registering. Needs
 *   `capabilities.scrubAfterUse` (Podman); elsewhere `run` refuses it with `UNSUPPORTED_DELIVERY`.
 * - `"separate-init"`: the fallback for engines that mount secrets read-only (Swarm's tmpfs).
 *   Registering happens in a short-lived init container that is removed together with the
 *   token secret; the runner's container only ever receives the runner's credentials.
 * - `"auto"` (default): `"read-once"` when the backend declares it, else `"scrub"` when it
 *   declares that, else `"separate-init"`.
 */
export type Strategy = "auto" | "read-once" | "scrub" | "separate-init";

/** Options of {@link registerRunner}. */
export interface RegisterRunnerOptions {
  /** The engine to run on, e.g. `podmanFileBackend()`. The caller disposes it. */
  backend: SecretBackend;
  /** The registration token (read it with `readTokenFile`, never from argv or env). */
  token: string;
  /** The image: the probe image from `@keyhole/probe` (busybox, users alice and bob). */
  image: string;
  /** The CI server's URL written into the runner config. Default `https://ci.example.invalid`. */
  url?: string;
  /** The runner's name. Default `"runner-1"`. */
  name?: string;
  /** The unprivileged runner user (uid = gid). Default 2000 (alice in the probe image). */
  runnerUid?: number;
  /** See {@link Strategy}. Default `"auto"`. */
  strategy?: Strategy;
  /**
   * Called once the token is no longer needed (scrubbed, or its init container removed) and
   * before the job runs, with the workload the job will run in. Tests use it to look at the
   * engine from the host.
   */
  afterInit?: (workload: Workload) => Promise<void>;
}

/** What {@link registerRunner} did and what the runner user could see. Never holds the token. */
export interface RunnerRegistration {
  backendId: string;
  /** The strategy used (`auto` resolved). */
  strategy: Exclude<Strategy, "auto">;
  /** `register`'s own output line, e.g. `registered runner runner-1 (id 123) at https://…`. */
  registered: string;
  /** True when the token file was overwritten in place (`scrub` strategy). */
  scrubbed: boolean;
  /** True when the token came through a read-once FIFO and keyhole saw it consumed (`read-once` strategy). */
  readOnce: boolean;
  /** True when the file the job looks at still held token bytes after init (should be false). */
  tokenLeftInFile: boolean;
  /** How many `ps` snapshots another user (bob) took while `register` ran. */
  psSnapshots: number;
  /** True when those snapshots show the `register` process (proof the watcher saw it run). */
  registerSeenInPs: boolean;
  /** True when a snapshot shows the token (should be false: it was on stdin). */
  tokenSeenInPs: boolean;
  /** The job, run as the runner user. */
  job: {
    /** `id` of the job's process, e.g. `uid=2000(alice) gid=2000(alice) groups=2000(alice)`. */
    user: string;
    /** True when the job could read its runner credentials. */
    hasCredentials: boolean;
    /** Where the job found the token: `token-file`, `env`, `proc-1-environ`, `proc-self-environ`, `ps`. Should be empty. */
    tokenFoundIn: string[];
  };
}

// PID 1 exits on TERM, so stopping is immediate (a bare sleep would wait for the grace period).
const PID1 = ["sh", "-c", 'trap "exit 0" TERM; while :; do sleep 1; done'];
const TOKEN_TARGET = "/run/secrets/runner-token";
const ONCE_TOKEN_TARGET = "/run/keyhole-once/runner-token";
const PLACES = ["token-file", "env", "proc-1-environ", "proc-self-environ", "ps"] as const;

/**
 * Registers a self-hosted CI runner inside a container the way the article recommends, on any
 * keyhole backend: root's init step reads the registration token from a root-only secret file
 * (fed to `register` on stdin, never argv), writes the runner's credentials readable only by the
 * runner user, makes the token unreadable (scrub, or a separate init container), and then the
 * job runs as the unprivileged runner user, which looks for the token everywhere it could be.
 *
 * Everything it creates is removed before it returns, also when a step fails.
 *
 * @example
 * ```ts
 * await using backend = podmanFileBackend();
 * const result = await registerRunner({
 *   backend,
 *   token: await readTokenFile("/etc/runner/registration-token"),
 *   image: await ensureProbeImage("podman"),
 * });
 * result.job.tokenFoundIn; // []
 * ```
 */
export async function registerRunner(options: RegisterRunnerOptions): Promise<RunnerRegistration> {
  const { backend } = options;
  const strategy: Exclude<Strategy, "auto"> =
    options.strategy === undefined || options.strategy === "auto"
      ? backend.capabilities.readOnce === true
        ? "read-once"
        : backend.capabilities.scrubAfterUse
          ? "scrub"
          : "separate-init"
      : options.strategy;
  const unregister = registerSecretValue(options.token);
  const ctx: Context = {
    ...options,
    url: options.url ?? "https://ci.example.invalid",
    name: options.name ?? "runner-1",
    uid: options.runnerUid ?? 2000,
    suffix: randomBytes(4).toString("hex"),
  };
  try {
    return strategy === "read-once"
      ? await withReadOnce(ctx)
      : strategy === "scrub"
        ? await withScrub(ctx)
        : await withSeparateInit(ctx);
  } finally {
    unregister();
  }
}

interface Context extends RegisterRunnerOptions {
  url: string;
  name: string;
  uid: number;
  suffix: string;
}

async function withReadOnce(ctx: Context): Promise<RunnerRegistration> {
  const { backend } = ctx;
  // No createSecret: the token goes from this process's memory into the FIFO through an exec
  // session's stdin, and never into the engine's secret store.
  const w = await backend.run({
    image: ctx.image,
    command: PID1,
    user: "0",
    secrets: [
      {
        as: "file",
        once: true,
        value: ctx.token,
        target: ONCE_TOKEN_TARGET,
        uid: 0,
        gid: 0,
        mode: 0o400,
      },
    ],
  });
  try {
    await install(w, [
      [REGISTER_PATH, REGISTER_SCRIPT],
      [JOB_PATH, JOB_SCRIPT],
    ]);
    const init = await runInit(ctx, w, ONCE_TOKEN_TARGET);
    if (typeof w.consumed !== "function") {
      throw new EngineError(backend.id, "The workload cannot tell whether the token was consumed.");
    }
    await w.consumed(ONCE_TOKEN_TARGET);
    const left = await w.exec(["cat", ONCE_TOKEN_TARGET], { user: "0" });
    await ctx.afterInit?.(w);
    const job = await runJob(ctx, w, CONFIG_PATH, ONCE_TOKEN_TARGET);
    return {
      backendId: backend.id,
      strategy: "read-once",
      ...init,
      scrubbed: false,
      readOnce: true,
      tokenLeftInFile: left.stdout.includes(ctx.token),
      job,
    };
  } finally {
    await w.stop();
  }
}

async function withScrub(ctx: Context): Promise<RunnerRegistration> {
  const { backend } = ctx;
  const token = await backend.createSecret(`runner-token-${ctx.suffix}`, ctx.token);
  try {
    const w = await backend.run({
      image: ctx.image,
      command: PID1,
      user: "0",
      // Without CAP_DAC_OVERRIDE even root obeys file modes, so the only writer of the token
      // file is its owner, and the job's user cannot get around 0600.
      capDrop: ["DAC_OVERRIDE"],
      secrets: [
        {
          secret: token,
          as: "file",
          target: TOKEN_TARGET,
          uid: 0,
          gid: 0,
          mode: 0o600,
          scrub: true,
        },
      ],
    });
    try {
      await install(w, [
        [REGISTER_PATH, REGISTER_SCRIPT],
        [JOB_PATH, JOB_SCRIPT],
      ]);
      const init = await runInit(ctx, w);
      await w.scrub(TOKEN_TARGET);
      const left = await w.exec(["cat", TOKEN_TARGET], { user: "0" });
      await ctx.afterInit?.(w);
      const job = await runJob(ctx, w, CONFIG_PATH);
      return {
        backendId: backend.id,
        strategy: "scrub",
        ...init,
        scrubbed: true,
        readOnce: false,
        tokenLeftInFile: left.stdout.includes(ctx.token),
        job,
      };
    } finally {
      await w.stop();
    }
  } finally {
    await backend.removeSecret(token);
  }
}

async function withSeparateInit(ctx: Context): Promise<RunnerRegistration> {
  const { backend } = ctx;
  let init: Awaited<ReturnType<typeof runInit>>;
  let credentials: string;
  // Phase 1: a short-lived init container is the only one that ever gets the token.
  const token = await backend.createSecret(`runner-token-${ctx.suffix}`, ctx.token);
  try {
    const w = await backend.run({
      image: ctx.image,
      command: PID1,
      user: "0",
      capDrop: ["DAC_OVERRIDE"],
      secrets: [{ secret: token, as: "file", target: TOKEN_TARGET, uid: 0, gid: 0, mode: 0o400 }],
    });
    try {
      await install(w, [[REGISTER_PATH, REGISTER_SCRIPT]]);
      init = await runInit(ctx, w);
      // The runner user reads it: root without CAP_DAC_OVERRIDE cannot read a 0400 file of uid 2000.
      const config = await w.exec(["cat", CONFIG_PATH], { user: `${ctx.uid}:${ctx.uid}` });
      if (config.exitCode !== 0) {
        throw new EngineError(
          backend.id,
          `Reading the runner config failed: ${config.stderr.trim()}.`,
        );
      }
      credentials = config.stdout;
    } finally {
      await w.stop();
    }
  } finally {
    await backend.removeSecret(token);
  }
  // The credentials are a secret too: from here on they are redacted like the token.
  const unregister = registerSecretValue(credentials);
  try {
    // Phase 2: the runner's container gets only its credentials, owned by the runner user.
    const creds = await backend.createSecret(`runner-config-${ctx.suffix}`, credentials);
    try {
      const outside = backend.capabilities.targetOutsideSecretsDir;
      const configPath = outside ? CONFIG_PATH : "/run/secrets/runner-config";
      const w = await backend.run({
        image: ctx.image,
        command: PID1,
        user: "0",
        capDrop: ["DAC_OVERRIDE"],
        allowTargetOutsideSecretsDir: outside,
        secrets: [fileDelivery(backend, creds, configPath, ctx.uid)],
      });
      try {
        await install(w, [[JOB_PATH, JOB_SCRIPT]]);
        const left = await w.exec(["cat", TOKEN_TARGET], { user: "0" });
        await ctx.afterInit?.(w);
        const job = await runJob(ctx, w, configPath);
        return {
          backendId: backend.id,
          strategy: "separate-init",
          ...init,
          scrubbed: false,
          readOnce: false,
          tokenLeftInFile: left.stdout.includes(ctx.token),
          job,
        };
      } finally {
        await w.stop();
      }
    } finally {
      await backend.removeSecret(creds);
    }
  } finally {
    unregister();
  }
}

function fileDelivery(backend: SecretBackend, secret: SecretHandle, target: string, uid: number) {
  const c = backend.capabilities;
  return {
    secret,
    as: "file" as const,
    target,
    ...(c.fileOwnership ? { uid, gid: uid } : {}),
    ...(c.fileMode ? { mode: 0o400 } : {}),
  };
}

async function install(w: Workload, scripts: Array<[path: string, text: string]>): Promise<void> {
  for (const [path, text] of scripts) {
    const r = await w.exec(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS.
      ["sh", "-c", 'mkdir -p "${1%/*}" && cat > "$1" && chmod 0755 "$1"', "sh", path],
      { user: "0", stdin: text },
    );
    if (r.exitCode !== 0) {
      throw new EngineError(
        w.backendId,
        `Installing ${path} in the container failed: ${r.stderr.trim()}.`,
      );
    }
  }
}

async function runInit(ctx: Context, w: Workload, tokenTarget = TOKEN_TARGET) {
  const r = await w.exec(
    [
      "sh",
      "-c",
      INIT_SCRIPT,
      "init",
      tokenTarget,
      ctx.url,
      ctx.name,
      String(ctx.uid),
      String(ctx.uid),
      PS_WATCH_SCRIPT,
    ],
    { user: "0" },
  );
  if (r.exitCode !== 0) {
    throw new EngineError(
      w.backendId,
      `The init step failed (exit code ${r.exitCode}): ${redact(r.stderr.trim(), [ctx.token])}.`,
    );
  }
  const logPath = /^== ps-log (\S+)$/m.exec(r.stdout)?.[1];
  const log = logPath ? await w.exec(["cat", logPath], { user: "0" }) : undefined;
  const text = log?.stdout ?? "";
  return {
    registered: redact(r.stdout.split("\n").find((l) => l.startsWith("registered ")) ?? "", [
      ctx.token,
    ]),
    psSnapshots: text.split("\n").filter((l) => /^USER\s+COMMAND/.test(l)).length,
    registerSeenInPs: new RegExp(`^root\\s+(\\{[^}]*\\} )?\\S*sh ${REGISTER_PATH} `, "m").test(
      text,
    ),
    tokenSeenInPs: text.includes(ctx.token),
  };
}

async function runJob(
  ctx: Context,
  w: Workload,
  configPath: string,
  tokenTarget = TOKEN_TARGET,
): Promise<RunnerRegistration["job"]> {
  const r = await w.exec(["sh", JOB_PATH, tokenTarget, configPath], {
    user: `${ctx.uid}:${ctx.uid}`,
  });
  const sections = new Map<string, string>();
  for (const part of r.stdout.split(/^== /m).slice(1)) {
    const nl = part.indexOf("\n");
    sections.set(part.slice(0, nl).trim(), part.slice(nl + 1));
  }
  return {
    user: (sections.get("whoami") ?? "").trim(),
    hasCredentials: (sections.get("config") ?? "").includes("have runner credentials"),
    tokenFoundIn: PLACES.filter((p) => (sections.get(p) ?? "").includes(ctx.token)),
  };
}
