/**
 * How a probe's `rd`/`wr`/`rm` came out, classified so that only a *specific* denial counts as
 * protection: a failed `cat` because the file is missing (ENOENT) or is a directory (EISDIR)
 * says nothing about access control and must never read as "denied".
 */

/** The errno names a check may accept as a denial. */
export type Errno = "EACCES" | "EPERM" | "EROFS" | "EBUSY";

/** The messages busybox (and GNU coreutils) print for each errno keyhole accepts as a denial. */
const MESSAGES: ReadonlyArray<readonly [RegExp, Errno]> = [
  [/Permission denied/i, "EACCES"],
  [/Operation not permitted/i, "EPERM"],
  [/Read-only file system/i, "EROFS"],
  [/(Device or )?[Rr]esource busy/, "EBUSY"],
];

/** What one `rd FILE KEY` (or `wr`, or `rm`) line said. */
export type ProbeRead =
  | { kind: "digest"; digest: string }
  | { kind: "ok" }
  | { kind: "denied"; errno: Errno; text: string }
  | { kind: "failed"; text: string };

/** A sha256 hex digest. */
const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Classifies the field a probe helper printed: `<sha256>` (read), `ok` (written), `denied
 * <error>` / `refused <error>` / `<status> <error>` (failed, with the tool's message), or
 * nothing at all (the probe never got there: `failed`).
 */
export function classify(field: string | undefined): ProbeRead {
  const text = (field ?? "").trim();
  if (DIGEST.test(text)) return { kind: "digest", digest: text };
  if (text === "ok") return { kind: "ok" };
  if (text === "") return { kind: "failed", text: "no output" };
  for (const [re, errno] of MESSAGES) {
    if (re.test(text)) return { kind: "denied", errno, text: reasonOf(text) };
  }
  return { kind: "failed", text: reasonOf(text) };
}

/** True when `read` is a denial with one of `accepted` errnos. */
export function deniedWith(read: ProbeRead, accepted: readonly Errno[]): boolean {
  return read.kind === "denied" && accepted.includes(read.errno);
}

/** The part of a tool's message after its last colon: `Permission denied`, `No such file …`. */
export function reasonOf(text: string): string {
  const m = /:\s*([^:]+)$/.exec(text);
  return (m?.[1] ?? text).replace(/^(denied|refused)\s+/, "").trim() || text;
}

/** A read for observed text: `reads it`, `Permission denied`, `No such file or directory`. */
export function describeRead(read: ProbeRead): string {
  if (read.kind === "digest") return "read something";
  if (read.kind === "ok") return "ok";
  return read.text;
}

/** Read permission denials (a file mode, a /proc permission check). */
export const READ_DENIALS: readonly Errno[] = ["EACCES", "EPERM"];
/** Write refusals: a mode or dropped capability (EACCES/EPERM) or a read-only mount (EROFS). */
export const WRITE_DENIALS: readonly Errno[] = ["EACCES", "EPERM", "EROFS"];
/** `rm` refusals: a mount point (EBUSY), a read-only mount (EROFS), permissions (EACCES/EPERM). */
export const REMOVE_DENIALS: readonly Errno[] = ["EBUSY", "EROFS", "EACCES", "EPERM"];
