// Makes `podman run` work on this host: decided by trial runs, written to a project-owned
// containers.conf (passed with CONTAINERS_CONF), never by editing /etc.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { run, tail, which } from "./exec.mjs";
import { ownContainersConf } from "./state-dir.mjs";

const BUSYBOX = "/bin/busybox";
const FIX = "node scripts/provision.mjs";

/** Podman's version, or undefined when podman is missing. */
export function podmanVersion() {
  const r = run("podman", ["version", "--format", "{{.Client.Version}}"]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** The host's hard RLIMIT_NOFILE / RLIMIT_NPROC (Infinity when unlimited), from /proc/self/limits. */
export function hardLimits() {
  const text = readFileSync("/proc/self/limits", "utf8");
  const pick = (label) => {
    const line = text.split("\n").find((l) => l.startsWith(label));
    const hard = line?.slice(label.length).trim().split(/\s+/)[1];
    return hard === undefined || hard === "unlimited" ? Number.POSITIVE_INFINITY : Number(hard);
  };
  return { nofile: pick("Max open files"), nproc: pick("Max processes") };
}

/** Limits to try, highest first, never above `hard`. */
export function limitCandidates(hard) {
  const steps = [hard, 1_048_576, 524_288, 65_536, 32_768, 20_000, 16_384, 8_192, 4_096, 1_024];
  return [...new Set(steps.filter((v) => Number.isFinite(v) && v <= hard))].sort((a, b) => b - a);
}

/** The containers.conf text for a runtime and ulimits. */
export function containersConf({ runtime, nofile, nproc }) {
  return [
    "# Written by keyhole (scripts/provision.mjs) after trial runs on this host; podman gets it",
    "# through CONTAINERS_CONF. Delete it and run provisioning again to re-decide.",
    "[engine]",
    `runtime = "${runtime}"`,
    "",
    "[containers]",
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    "",
  ].join("\n");
}

/**
 * One throwaway `podman run --rm --network none` of a bare busybox rootfs (`--rootfs`, so no
 * image is needed) with `conf` as CONTAINERS_CONF, or podman's own default when `conf` is
 * undefined. Returns `{ ok, error }`.
 */
export function trialRun(conf) {
  const root = mkdtempSync(join(tmpdir(), "keyhole-trial-"));
  try {
    mkdirSync(join(root, "bin"));
    copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
    const env = { ...process.env };
    if (conf) env.CONTAINERS_CONF = conf;
    else delete env.CONTAINERS_CONF;
    const r = run(
      "podman",
      ["run", "--rm", "--network", "none", "--rootfs", root, "/bin/busybox", "true"],
      {
        env,
        timeout: 120_000,
      },
    );
    return { ok: r.code === 0, error: tail(r.stderr || r.stdout, 3) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Finds a runtime and ulimits that make a trial run pass: runc first (crun fails on hybrid
 * cgroups here), then crun; both ulimits start at the host's hard limit and step down when the
 * runtime is refused raising that one (runc: "error setting rlimit type 7|6", crun: RLIMIT_*),
 * which on this VM kind happens even below the hard limit. Returns `{ settings, text }` or throws.
 */
export function findWorkingConf(write = writeAtomic) {
  const hard = hardLimits();
  const runtimes = ["runc", "crun"].filter(
    (r) => which(r) || existsSync(`/usr/libexec/podman/${r}`),
  );
  const tried = [];
  const target = ownContainersConf();
  const trialFile = `${target}.trial-${process.pid}`;
  try {
    for (const runtime of runtimes) {
      const nofiles = limitCandidates(hard.nofile);
      const nprocs = limitCandidates(hard.nproc);
      let [i, j] = [0, 0];
      while (i < nofiles.length && j < nprocs.length) {
        const settings = { runtime, nofile: nofiles[i], nproc: nprocs[j] };
        const text = containersConf(settings);
        write(trialFile, text);
        const trial = trialRun(trialFile);
        if (trial.ok) {
          write(target, text);
          return { settings, tried };
        }
        tried.push(`${runtime} nofile=${settings.nofile} nproc=${settings.nproc}: ${trial.error}`);
        if (/rlimit type 7|RLIMIT_NOFILE/i.test(trial.error)) i++;
        else if (/rlimit type 6|RLIMIT_NPROC/i.test(trial.error)) j++;
        else break;
      }
    }
  } finally {
    rmSync(trialFile, { force: true });
  }
  const error = new Error(
    `no runtime/ulimit combination made podman run work:\n  ${tried.join("\n  ")}`,
  );
  error.tried = tried;
  throw error;
}

/** Writes via a temp file and rename, so a concurrent podman never reads half a file. */
export function writeAtomic(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Decides Podman's config. `check`: only trial what is in place. Returns a status
 * `{ state: "ready"|"missing"|"broken", detail, fix?, changed }`.
 */
export function ensurePodmanConfig({ check = false } = {}) {
  const ours = ownContainersConf();
  const userConf = process.env.CONTAINERS_CONF;
  if (userConf && resolve(userConf) !== resolve(ours)) {
    const t = trialRun(userConf);
    return t.ok
      ? {
          state: "ready",
          detail: `podman run works with your CONTAINERS_CONF=${userConf}`,
          changed: false,
        }
      : {
          state: "broken",
          detail: `podman run fails with CONTAINERS_CONF=${userConf}: ${t.error}`,
          fix: `unset CONTAINERS_CONF && ${FIX}`,
          changed: false,
        };
  }
  if (existsSync(ours)) {
    const t = trialRun(ours);
    if (t.ok)
      return { state: "ready", detail: `podman run works with ${ours} (kept)`, changed: false };
    if (check)
      return {
        state: "broken",
        detail: `podman run fails with ${ours}: ${t.error}`,
        fix: FIX,
        changed: false,
      };
  } else {
    const t = trialRun(undefined);
    if (t.ok)
      return {
        state: "ready",
        detail: "podman run works with podman's default config (nothing written)",
        changed: false,
      };
    if (check)
      return {
        state: "missing",
        detail: `podman run fails with the default config and ${ours} does not exist: ${t.error}`,
        fix: FIX,
        changed: false,
      };
  }
  try {
    const { settings } = findWorkingConf();
    return {
      state: "ready",
      detail: `wrote ${ours}: runtime=${settings.runtime} nofile=${settings.nofile} nproc=${settings.nproc} (trial run passed)`,
      changed: true,
    };
  } catch (error) {
    return {
      state: "broken",
      detail: error.message,
      fix: "see the podman errors above; podman info",
      changed: false,
    };
  }
}
