import { createHash } from "node:crypto";
import { EngineError, type NormalizedFileDelivery } from "@keyhole/core";
import { type ExecTarget, execInContainer } from "./exec.js";

/** The mode of a delivered file when the delivery names none (Swarm's and Podman's default). */
export const DEFAULT_FILE_MODE = 0o444;

/** argv[0] of the gate while it waits; how {@link waitForGate} recognises it. */
export const GATE_NAME = "keyhole-gate";

/**
 * PID 1 while the files are delivered: waits until every target exists (they appear atomically,
 * by rename, with content, owner and mode already set), then `exec`s the workload's own argv,
 * which becomes PID 1. Positional parameters: the targets, `--`, the workload's argv.
 *
 * Why a gate: Docker 20.10 copies archives (`PUT /containers/{id}/archive`, what testcontainers'
 * `withCopyContentToContainer` uses) into the container's overlay upper directory on the host,
 * never into a tmpfs mounted inside it (moby#22020): before start the file lands on the host's
 * disk and is then hidden by the tmpfs; after start it lands on the disk and the container never
 * sees it. So files are written from inside, after start, and the workload waits for them.
 */
export const GATE_SCRIPT =
  'while [ "$1" != -- ]; do until [ -e "$1" ]; do sleep 0.05 2>/dev/null || sleep 1; done; shift; done; shift; exec "$@"';

/**
 * Writes stdin to `$1` with owner `$2` (`uid:gid`) and mode `$3` (octal), atomically: a
 * root-only temp file in the same tmpfs directory, then `rename`. Prints the sha256 digest
 * (`-` where the image has no `sha256sum`) and `uid:gid mode size`, so delivery is verified
 * from inside.
 */
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS.
const PUT_SCRIPT = [
  "set -e",
  "umask 022",
  'mkdir -p "${1%/*}"',
  "umask 077",
  'tmp="${1%/*}/.keyhole-put.$$"',
  'cat > "$tmp"',
  // Digest while root still owns it: with CAP_DAC_OVERRIDE dropped root cannot read a 0400
  // file of another uid afterwards (Docker grants no CAP_DAC_READ_SEARCH by default).
  'if command -v sha256sum >/dev/null 2>&1; then sha256sum < "$tmp"; else echo -; fi',
  'chmod "$3" "$tmp"',
  'chown "$2" "$tmp"',
  'mv -f "$tmp" "$1"',
  "stat -c '%u:%g %a %s' \"$1\"",
].join("\n");
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS.

/**
 * Overwrites `$1` with zeros in place (same inode, so every open descriptor sees them), then
 * truncates it and restores its mode. Runs as the file's owner, who may always chmod its own
 * file, so it works with `CAP_DAC_OVERRIDE` dropped. Prints the size left (0).
 */
const SCRUB_SCRIPT = [
  "set -e",
  'm=$(stat -c %a "$1")',
  'n=$(stat -c %s "$1")',
  'chmod u+rw "$1"',
  'if [ "$n" -gt 0 ]; then dd if=/dev/zero of="$1" bs="$n" count=1 conv=notrunc 2>/dev/null; fi',
  ': > "$1"',
  'chmod "$m" "$1"',
  'wc -c < "$1"',
].join("\n");

/** The container argv that runs `argv` behind the gate until `targets` exist. */
export function gatedCommand(targets: readonly string[], argv: readonly string[]) {
  return {
    entrypoint: ["/bin/sh", "-c", GATE_SCRIPT, GATE_NAME],
    command: [...targets, "--", ...argv],
  };
}

/**
 * Delivers one file from inside the running container, as root with the container's own
 * capabilities, with the value on the exec session's stdin; verifies owner, mode, size and
 * (where `sha256sum` exists) digest from inside. Root owns the tmpfs, so only the `chown` to
 * another uid/gid needs a capability (`CAP_CHOWN`). A privileged exec would not need even that,
 * but dockerd 20.10 on a host with a reduced bounding set refuses it ("unable to apply caps").
 */
export async function putFile(
  target: ExecTarget,
  delivery: NormalizedFileDelivery,
  value: Uint8Array,
): Promise<void> {
  const uid = delivery.uid ?? 0;
  const gid = delivery.gid ?? 0;
  const mode = delivery.mode ?? DEFAULT_FILE_MODE;
  const r = await execInContainer(
    target,
    [
      "/bin/sh",
      "-c",
      PUT_SCRIPT,
      "keyhole-put",
      delivery.target,
      `${uid}:${gid}`,
      mode.toString(8),
    ],
    { user: "0", stdin: value },
  );
  const [digestLine = "", statLine = ""] = r.stdout.trim().split("\n");
  const [owner = "", modeText = "", size = ""] = statLine.trim().split(/\s+/);
  const expected = `${uid}:${gid} ${mode.toString(8)} ${value.length}`;
  const ok =
    r.exitCode === 0 &&
    owner === `${uid}:${gid}` &&
    Number.parseInt(modeText, 8) === mode &&
    Number(size) === value.length;
  if (!ok) {
    throw new EngineError(
      target.backendId,
      `Could not deliver ${delivery.target} into container ${target.containerId.slice(0, 12)}: expected owner, mode and size ${JSON.stringify(expected)}, the container reports ${JSON.stringify(statLine.trim())} (exit ${r.exitCode}: ${r.stderr.trim() || "no message"}). File delivery needs /bin/sh, cat, chmod, chown, mv and stat in the image.`,
    );
  }
  if (digestLine.trim() !== "-") {
    const digest = createHash("sha256").update(value).digest("hex");
    if (digestLine.split(/\s+/)[0] !== digest) {
      throw new EngineError(
        target.backendId,
        `The content of ${delivery.target} in container ${target.containerId.slice(0, 12)} differs from the secret (sha256 mismatch). Retry the run; report it if it persists.`,
      );
    }
  }
}

/**
 * Zeros then truncates a delivered file from inside, as its owner, and checks that nothing of
 * it is left to read.
 */
export async function scrubFile(
  target: ExecTarget,
  delivery: NormalizedFileDelivery,
): Promise<void> {
  const owner = `${delivery.uid ?? 0}:${delivery.gid ?? 0}`;
  const r = await execInContainer(
    target,
    ["/bin/sh", "-c", SCRUB_SCRIPT, "keyhole-scrub", delivery.target],
    { user: owner },
  );
  if (r.exitCode !== 0 || r.stdout.trim() !== "0") {
    throw new EngineError(
      target.backendId,
      `Could not scrub ${delivery.target} in container ${target.containerId.slice(0, 12)} (exit ${r.exitCode}: ${r.stderr.trim() || `${r.stdout.trim()} bytes left`}). Scrubbing needs stat, chmod, dd and wc in the image.`,
    );
  }
}

/**
 * Waits until the gate has handed PID 1 over to the workload's argv (a few tens of ms after the
 * last file appears), so probes never see the gate. Returns quietly when the container already
 * exited (a one-shot workload that ran).
 */
export async function waitForGate(target: ExecTarget, timeoutMs = 10_000): Promise<void> {
  const script = `i=0; while grep -q ${GATE_NAME} /proc/1/cmdline 2>/dev/null; do i=$((i+1)); [ $i -lt ${Math.ceil(timeoutMs / 20)} ] || exit 1; sleep 0.02 2>/dev/null || sleep 1; done`;
  let r: Awaited<ReturnType<typeof execInContainer>>;
  try {
    r = await execInContainer(target, ["/bin/sh", "-c", script], { user: "0" });
  } catch (error) {
    if (/is not running|container .* not running|state improper/i.test(String(error))) return;
    throw error;
  }
  if (r.exitCode !== 0) {
    throw new EngineError(
      target.backendId,
      `The workload in container ${target.containerId.slice(0, 12)} did not start within ${timeoutMs} ms after its files were delivered (${r.stderr.trim() || `exit ${r.exitCode}`}). Check that its command exists in the image.`,
    );
  }
}
