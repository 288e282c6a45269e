import { createHash } from "node:crypto";
import { EngineError, type NormalizedFileDelivery } from "@keyhole/core";
import { type ExecTarget, execInContainer } from "@keyhole/docker-api";

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
 * Writes every file of a run from one stdin stream, in one exec session. Each exec costs a
 * round trip to dockerd and a process start, and each forked command in the container another
 * ~10 ms on a loaded host, so 100 files took 25 s one exec each: the script below forks about
 * once per file (its `dd`) plus a few commands per directory and per owner/mode group.
 *
 * Positional parameters: for each file `target`, `uid:gid`, mode (octal) and size, sorted by
 * directory, then owner and mode (so groups are consecutive); stdin: the values, concatenated
 * in the same order. Only metadata is in argv, never a value; splitting by the sizes in argv
 * keeps the stream binary-safe without any framing. Lists are newline-separated (`IFS`,
 * globbing off): validate.ts refuses targets with a newline.
 *
 * Steps: (1) write each value into a root-only (0700) staging directory beside its target,
 * with `dd bs=<size> count=1 iflag=fullblock`, which reads exactly `size` bytes (`head -c` and
 * `cat` read ahead from a pipe: busybox 1.35's `head -c 2` swallows the whole stream; without
 * `fullblock` a pipe's short read would truncate the file); (2) print their sha256 digests
 * (`-` each where the image has no `sha256sum`) while root still owns them: with
 * CAP_DAC_OVERRIDE dropped root cannot read a 0400 file of another uid afterwards (Docker
 * grants no CAP_DAC_READ_SEARCH by default); (3) chmod and chown them; (4) move them into place
 * (each a `rename`, so a target appears with content, owner and mode already set) and remove the
 * staging directory; (5) print each target's `uid:gid mode size`, so delivery is verified from
 * inside.
 */
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS.
const PUT_SCRIPT = [
  "set -ef",
  "IFS='",
  "'",
  "write() {",
  '  while [ "$#" -gt 0 ]; do',
  '    d="${1%/*}"',
  '    if [ ! -d "$d/.keyhole-put.$$" ]; then',
  '      umask 022; [ -d "$d/" ] || mkdir -p "$d"',
  '      umask 077; mkdir "$d/.keyhole-put.$$"',
  "    fi",
  '    t="$d/.keyhole-put.$$/${1##*/}"',
  '    if [ "$4" -gt 0 ]; then dd of="$t" bs="$4" count=1 iflag=fullblock status=none; else : > "$t"; fi',
  '    staged="$staged$t$IFS"',
  "    shift 4",
  "  done",
  "}",
  "own() {",
  "  key= group=",
  '  while [ "$#" -gt 0 ]; do',
  '    if [ "$2 $3" != "$key" ] && [ -n "$group" ]; then',
  '      chmod "${key#* }" $group; chown "${key% *}" $group; group=',
  "    fi",
  '    key="$2 $3" group="$group${1%/*}/.keyhole-put.$$/${1##*/}$IFS"',
  "    shift 4",
  "  done",
  '  chmod "${key#* }" $group; chown "${key% *}" $group',
  "}",
  "place() {",
  "  d= group=",
  '  while [ "$#" -gt 0 ]; do',
  '    if [ "${1%/*}" != "$d" ] && [ -n "$group" ]; then',
  '      mv -f $group "$d/"; rmdir "$d/.keyhole-put.$$"; group=',
  "    fi",
  '    d="${1%/*}" group="$group${1%/*}/.keyhole-put.$$/${1##*/}$IFS"',
  '    targets="$targets$1$IFS"',
  "    shift 4",
  "  done",
  '  mv -f $group "$d/"; rmdir "$d/.keyhole-put.$$"',
  "}",
  'write "$@"',
  "if command -v sha256sum >/dev/null 2>&1; then sha256sum $staged; else for t in $staged; do echo -; done; fi",
  'own "$@"',
  'place "$@"',
  "stat -c '%u:%g %a %s' $targets",
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

/** One file for {@link putFiles}: where it goes and its value. */
export interface FileToPut {
  delivery: NormalizedFileDelivery;
  bytes: Uint8Array;
}

/**
 * Delivers all files of a run from inside the running container in ONE exec session, as root
 * with the container's own capabilities, with the values on the session's stdin; verifies each
 * file's owner, mode, size and (where `sha256sum` exists) digest from inside. Root owns the
 * tmpfs, so only the `chown` to another uid/gid needs a capability (`CAP_CHOWN`). A privileged
 * exec would not need even that, but dockerd 20.10 on a host with a reduced bounding set
 * refuses it ("unable to apply caps").
 */
export async function putFiles(target: ExecTarget, files: readonly FileToPut[]): Promise<void> {
  if (files.length === 0) return;
  const meta = (f: FileToPut) => {
    const uid = f.delivery.uid ?? 0;
    const gid = f.delivery.gid ?? 0;
    const mode = f.delivery.mode ?? DEFAULT_FILE_MODE;
    const dir = f.delivery.target.slice(0, f.delivery.target.lastIndexOf("/"));
    return { owner: `${uid}:${gid}`, mode, group: `${dir}\n${uid}:${gid} ${mode}` };
  };
  // Sorted so that the script's per-directory and per-owner/mode groups are consecutive.
  const sorted = [...files].sort((a, b) =>
    meta(a).group < meta(b).group ? -1 : meta(a).group > meta(b).group ? 1 : 0,
  );
  const argv = ["/bin/sh", "-c", PUT_SCRIPT, "keyhole-put"];
  for (const f of sorted) {
    const { owner, mode } = meta(f);
    argv.push(f.delivery.target, owner, mode.toString(8), String(f.bytes.length));
  }
  const r = await execInContainer(target, argv, {
    user: "0",
    stdin: Buffer.concat(sorted.map((f) => f.bytes)),
  });
  const names = sorted.map((f) => f.delivery.target).join(", ");
  if (r.exitCode !== 0) {
    throw new EngineError(
      target.backendId,
      `Could not deliver ${names} into container ${target.containerId.slice(0, 12)} (exit ${r.exitCode}: ${r.stderr.trim() || "no message"}). File delivery needs /bin/sh, dd (with iflag=fullblock), chmod, chown, mkdir, mv, rmdir and stat in the image.`,
    );
  }
  // One digest line per file, then one stat line per file, both in argv order.
  const lines = r.stdout.trim().split("\n");
  sorted.forEach(({ delivery, bytes }, i) => {
    const uid = delivery.uid ?? 0;
    const gid = delivery.gid ?? 0;
    const mode = delivery.mode ?? DEFAULT_FILE_MODE;
    // GNU sha256sum prefixes the line with "\\" when the name has a backslash.
    const digestLine = (lines[i] ?? "").trim().replace(/^\\/, "");
    const statLine = (lines[sorted.length + i] ?? "").trim();
    const [owner = "", modeText = "", size = ""] = statLine.split(/\s+/);
    const expected = `${uid}:${gid} ${mode.toString(8)} ${bytes.length}`;
    const ok =
      owner === `${uid}:${gid}` &&
      Number.parseInt(modeText, 8) === mode &&
      Number(size) === bytes.length;
    if (!ok) {
      throw new EngineError(
        target.backendId,
        `Could not deliver ${delivery.target} into container ${target.containerId.slice(0, 12)}: expected owner, mode and size ${JSON.stringify(expected)}, the container reports ${JSON.stringify(statLine)} (exit ${r.exitCode}: ${r.stderr.trim() || "no message"}). File delivery needs /bin/sh, dd (with iflag=fullblock), chmod, chown, mkdir, mv and stat in the image.`,
      );
    }
    if (digestLine !== "-") {
      const digest = createHash("sha256").update(bytes).digest("hex");
      if (digestLine.split(/\s+/)[0] !== digest) {
        throw new EngineError(
          target.backendId,
          `The content of ${delivery.target} in container ${target.containerId.slice(0, 12)} differs from the secret (sha256 mismatch). Retry the run; report it if it persists.`,
        );
      }
    }
  });
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
