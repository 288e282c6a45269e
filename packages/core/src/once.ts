import { EngineError, InvalidInputError } from "./errors.js";
import { type NormalizedOnceDelivery, ONCE_DIR } from "./once-validate.js";
import { redact } from "./redact.js";
import type { ExecOptions, ExecResult } from "./types.js";

/** How the read-once machinery reaches into a workload: its `exec`, nothing else. */
export type OnceExec = (argv: string[], options: ExecOptions) => Promise<ExecResult>;

/**
 * The empty file the setup writes into each FIFO directory once every FIFO of the run exists;
 * the gate of PID 1 ({@link onceGatedCommand}) waits for it.
 */
export const ONCE_READY_MARKER = ".keyhole-once-ready";

/**
 * PID 1 while the FIFOs are made: waits until every path before `--` exists, then `exec`s the
 * workload's own argv, which becomes PID 1. So an init step that reads its secret at start
 * finds the FIFO (and blocks in open until the writer is there) instead of ENOENT.
 */
export const ONCE_GATE_SCRIPT =
  'while [ "$1" != -- ]; do until [ -e "$1" ]; do sleep 0.05 2>/dev/null || sleep 1; done; shift; done; shift; exec "$@"';

/** argv[0] of the gate while it waits. */
export const ONCE_GATE_NAME = "keyhole-once-gate";

/**
 * The entrypoint and command that gate a workload's argv (the image's entrypoint + command, or
 * the run's command) on the read-once FIFOs of `dirs` (see {@link onceTmpfsDirs}).
 */
export function onceGatedCommand(
  dirs: readonly string[],
  argv: readonly string[],
): { entrypoint: string[]; command: string[] } {
  return {
    entrypoint: ["/bin/sh", "-c", ONCE_GATE_SCRIPT, ONCE_GATE_NAME],
    command: [...dirs.map((d) => `${d}/${ONCE_READY_MARKER}`), "--", ...argv],
  };
}

/**
 * Creates every FIFO of a run at once, as root with every capability: checks the session really
 * is privileged (the writer must see other uids' file descriptors), that each FIFO's directory
 * is a tmpfs (the one the adapter declared, never a disk), then makes each FIFO under a
 * temporary name with mode 000, sets owner and mode, and renames it into place, so it never
 * exists at its target with another owner or mode. Arguments: `target uid:gid mode` triples.
 */
export const ONCE_SETUP_SCRIPT = `set -e
cap=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
for b in 0 1 5 6 7; do
  [ $(( (0x$cap >> b) & 1 )) -eq 1 ] || { echo "kh-once: the exec session lacks capability bit $b (CHOWN, DAC_OVERRIDE, KILL, SETGID and SETUID are needed)" >&2; exit 20; }
done
dirs=
while [ $# -gt 0 ]; do
  f=$1 o=$2 m=$3
  shift 3
  d=\${f%/*}
  awk -v d="$d" '$5 == d { split($0, r, " - "); split(r[2], t, " "); ok = (t[1] == "tmpfs") } END { exit !ok }' /proc/self/mountinfo || { echo "kh-once: $d is not a tmpfs of its own" >&2; exit 21; }
  [ ! -e "$f" ] || { echo "kh-once: $f already exists" >&2; exit 22; }
  t=$d/.kh-once-$$-$(basename "$f")
  mkfifo -m 000 "$t"
  chmod "$m" "$t"
  chown "$o" "$t"
  mv "$t" "$f"
  dirs="$dirs $d"
done
for d in $dirs; do : > "$d/${ONCE_READY_MARKER}"; done`;

/**
 * The writer of one FIFO (`$1`), run as root with every capability, the value on stdin.
 *
 * 1. `exec 3>` blocks until a reader opens the FIFO; then the path is unlinked at once, so any
 *    later open gets ENOENT.
 * 2. Readers that opened it in the instant before the unlink share one pipe. They are found by
 *    their `/proc/<pid>/fd` links (`<path> (deleted)`, opened for reading): directly when the
 *    session has CAP_SYS_PTRACE (a privileged exec), else once per uid:gid running in the
 *    container, as that uid (`nsenter -S -G`; the kernel lets a uid read its own processes'
 *    links). None found means the session cannot see the reader, so nothing is written.
 * 3. The lowest-pid reader whose parents hold no copy wins, with its own children; any other
 *    holder is paused (SIGSTOP, and seen stopped) before a byte is written, so the value is
 *    never split.
 * 4. `cat` writes the whole value. With paused holders, keyhole keeps a read end of its own,
 *    waits until the winner's tree has closed the pipe, drains whatever it left, and only then
 *    resumes the paused holders: they read end-of-file, nothing else.
 */
export const ONCE_WRITER_SCRIPT = `f=$1 me=$$
pt=$(( (0x$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 19) & 1 ))
exec 3>"$f" || exit 3
rm -f -- "$f" || exit 4
scan() {
  if [ "$pt" = 1 ]; then ls -l /proc/[0-9]*/fd 2>/dev/null; return; fi
  for ug in $(cat /proc/[0-9]*/status 2>/dev/null | awk '/^Uid:/ { u = $3 } /^Gid:/ { print u ":" $3 }' | sort -u); do
    if [ "\${ug%:*}" = 0 ]; then ls -l /proc/[0-9]*/fd 2>/dev/null
    else nsenter -S "\${ug%:*}" -G "\${ug#*:}" ls -l /proc/[0-9]*/fd 2>/dev/null; fi
  done
}
holders() {
  scan | awk -v f="-> $f (deleted)" -v me="$me" -v skip=" $1 " '
    /^\\/proc\\/[0-9]+\\/fd:$/ { split($0, a, "/"); pid = a[3]; next }
    pid != me && substr($1, 2, 1) == "r" && substr($0, length($0) - length(f) + 1) == f && index(skip, " " pid " ") == 0 { print pid }' | sort -un | tr '\\n' ' '
}
losers() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v h="$1" '
    { s = $0; sub(/.*\\) /, "", s); split(s, x, " "); pp[$1] = x[2] }
    END {
      n = split(h, hs, " "); for (i = 1; i <= n; i++) H[hs[i]] = 1
      w = ""
      for (i = 1; i <= n; i++) {
        p = hs[i]; root = 1; q = pp[p]; c = 0
        while (q != "" && q + 0 > 1 && c++ < 4096) { if (q in H) { root = 0; break }; q = pp[q] }
        if (root && (w == "" || p + 0 < w + 0)) w = p
      }
      for (i = 1; i <= n; i++) {
        p = hs[i]; q = p; mine = 0; c = 0
        while (q != "" && c++ < 4096) { if (q == w) { mine = 1; break }; if (q + 0 <= 1) break; q = pp[q] }
        if (!mine) printf "%s ", p
      }
    }'
}
h=$(holders "")
# A reader whose open() resolved the path just before the unlink may install its descriptor a
# moment later (preempted in the kernel): look again after a pause and take the union.
sleep 0.02
h=$(echo $h $(holders "") | tr ' ' '\n' | sort -un | tr '\n' ' ')
[ -n "$h" ] || { echo "kh-once: no reader of $f can be seen (the session is not privileged, or the reader went away); nothing was written" >&2; exit 5; }
l=$(losers "$h")
echo "holders=$h"
if [ -n "$l" ]; then
  kill -STOP $l || { echo "kh-once: could not pause the readers $l; nothing was written" >&2; exit 7; }
  # SIGSTOP is asynchronous: a reader woken by it still takes data that is already there. Write
  # only once every paused reader really is stopped (state T) or gone.
  for p in $l; do
    while [ -e "/proc/$p" ] && [ "$(awk '{ sub(/.*) /, ""); print substr($0, 1, 1) }' "/proc/$p/stat" 2>/dev/null)" != T ]; do sleep 0.01; done
  done
  exec 4</proc/$me/fd/3
fi
cat >&3 || exit 6
exec 3>&-
if [ -n "$l" ]; then
  while [ -n "$(exec 4<&-; holders "$l")" ]; do sleep 0.02 4<&-; done
  cat <&4 >/dev/null
  exec 4<&-
  kill -CONT $l 2>/dev/null
  echo "paused=$l"
fi
echo "consumed"`;

/**
 * The read-once deliveries of one running workload: creates their FIFOs, starts one writer exec
 * session per FIFO (the value on its stdin) and answers {@link OnceDeliveries.consumed}.
 * Adapters use it through {@link startOnceDeliveries}; a run whose workload is removed takes the
 * FIFOs (on the workload's tmpfs) and the writers (its processes) with it.
 */
export class OnceDeliveries {
  readonly #backendId: string;
  readonly #pending = new Map<string, Promise<Date>>();

  /** @internal Use {@link startOnceDeliveries}. */
  constructor(backendId: string) {
    this.#backendId = backendId;
  }

  /** The absolute targets of the read-once deliveries, in delivery order. */
  get targets(): string[] {
    return [...this.#pending.keys()];
  }

  /** @internal Registers the writer of one target. */
  add(target: string, writer: Promise<Date>): void {
    // Nobody may have asked yet: keep a rejection from becoming an unhandled one.
    writer.catch(() => {});
    this.#pending.set(target, writer);
  }

  /**
   * Resolves when a reader got the whole value at `target` (absolute, or a plain name under
   * `/run/keyhole-once`); rejects when the workload stopped first or no reader could be given
   * it. `INVALID_INPUT` for a target that was not delivered read-once in this run.
   */
  consumed(target: string): Promise<Date> {
    const absolute =
      typeof target === "string" && !target.startsWith("/") ? `${ONCE_DIR}/${target}` : target;
    const writer = this.#pending.get(absolute);
    if (!writer) {
      return Promise.reject(
        new InvalidInputError(
          this.#backendId,
          `${JSON.stringify(target)} was not delivered read-once in this run. Pass the target of a { as: "file", once: true } delivery.`,
        ),
      );
    }
    return writer;
  }
}

/** Options of {@link startOnceDeliveries}. */
export interface StartOnceOptions {
  /**
   * Run the setup and writer sessions with `privileged: true` (Podman: every capability, so the
   * writer sees every process directly). False where the engine refuses privileged exec (Docker
   * on a host with a reduced bounding set): the writer then looks as each uid in turn.
   */
  privileged: boolean;
}

/**
 * Starts a run's read-once deliveries over `exec` (the workload's own): one privileged exec
 * session creates every FIFO (fails with `ENGINE_ERROR` when the image lacks the tools, the
 * exec is not privileged or a FIFO directory is not a tmpfs); then one writer session per FIFO
 * gets the value on stdin and waits for a reader. Resolves once the FIFOs exist, so a reader
 * started after it finds them. The adapter must have mounted a tmpfs on every directory of
 * {@link onceTmpfsDirs}.
 */
export async function startOnceDeliveries(
  backendId: string,
  exec: OnceExec,
  once: readonly NormalizedOnceDelivery[],
  options: StartOnceOptions,
): Promise<OnceDeliveries> {
  const privileged = options.privileged;
  const deliveries = new OnceDeliveries(backendId);
  if (once.length === 0) return deliveries;
  const setup = await exec(
    [
      "sh",
      "-c",
      ONCE_SETUP_SCRIPT,
      "kh-once",
      ...once.flatMap((o) => [o.target, `${o.uid}:${o.gid}`, o.mode.toString(8).padStart(3, "0")]),
    ],
    { user: "0", privileged },
  );
  if (setup.exitCode !== 0) {
    for (const o of once) o.bytes.fill(0);
    throw new EngineError(
      backendId,
      `keyhole could not create the read-once FIFOs (exit ${setup.exitCode}: ${redact(setup.stderr.trim()).slice(0, 300)}). The image needs sh, awk, ls, cat, mkfifo, chown, chmod, mv, kill, sleep and nsenter, and root in the container needs CHOWN, DAC_OVERRIDE, KILL, SETUID and SETGID.`,
    );
  }
  for (const o of once) {
    deliveries.add(o.target, feed(backendId, exec, o, privileged));
  }
  return deliveries;
}

async function feed(
  backendId: string,
  exec: OnceExec,
  o: NormalizedOnceDelivery,
  privileged: boolean,
): Promise<Date> {
  let result: ExecResult;
  try {
    result = await exec(["sh", "-c", ONCE_WRITER_SCRIPT, "kh-once", o.target], {
      user: "0",
      privileged,
      stdin: o.bytes,
    });
  } catch (error) {
    throw new EngineError(
      backendId,
      `Nobody read ${o.target} before its writer ended (the workload stopped, or its exec session broke); the value was never delivered. Run again and read it before stopping the workload.`,
      { cause: error },
    );
  } finally {
    // The writer has taken all it will take: keyhole's copy goes.
    o.bytes.fill(0);
  }
  if (result.exitCode !== 0 || !/^consumed$/m.test(result.stdout)) {
    throw new EngineError(
      backendId,
      `The read-once writer of ${o.target} ended without handing the value to a reader (exit ${result.exitCode}: ${redact(result.stderr.trim()).slice(0, 300)}). Nobody got it; deliver it again.`,
    );
  }
  return new Date();
}
