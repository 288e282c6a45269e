import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { EngineUnavailableError } from "@keyhole/core";
import type { TarEntry } from "./tar.js";

/** Where the probe image's busybox comes from by default: Debian's `busybox-static`. */
export const DEFAULT_BUSYBOX = "/bin/busybox";

/** The unprivileged users of the probe image: name → uid (= gid). */
export const PROBE_USERS = { alice: 2000, bob: 3000 } as const;

/**
 * The busybox applets the probes use, linked into `/bin` when the host's busybox has them.
 * `su` runs as root without a password (`su -s /bin/sh bob -c '…'`); `setpriv` drops
 * capabilities where available.
 */
export const PROBE_APPLETS: readonly string[] = [
  "[",
  "awk",
  "base64",
  "basename",
  "cat",
  "chmod",
  "chown",
  "cmp",
  "cp",
  "cut",
  "dd",
  "dirname",
  "echo",
  "env",
  "false",
  "find",
  "grep",
  "head",
  "hexdump",
  "id",
  "kill",
  "ln",
  "ls",
  "mkdir",
  "mkfifo",
  "mktemp",
  "mount",
  "mv",
  "nproc",
  "od",
  "pidof",
  "printf",
  "ps",
  "readlink",
  "rm",
  "sed",
  "seq",
  "setpriv",
  "sh",
  "sha256sum",
  "shred",
  "sleep",
  "sort",
  "stat",
  "su",
  "sync",
  "tail",
  "tee",
  "test",
  "timeout",
  "touch",
  "tr",
  "true",
  "truncate",
  "umount",
  "uname",
  "uniq",
  "wc",
  "whoami",
  "xargs",
  "xxd",
];

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "alice:x:2000:2000:alice:/home/alice:/bin/sh",
  "bob:x:3000:3000:bob:/home/bob:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
];
const GROUP = ["root:x:0:", "alice:x:2000:", "bob:x:3000:", "nogroup:x:65534:"];

/**
 * The files of the probe image's root filesystem: `/bin/busybox` plus applet symlinks,
 * `/etc/passwd`, `/etc/group`, home dirs owned by alice and bob, `/tmp` 1777. Throws
 * {@link EngineUnavailableError} when the busybox is missing or not statically linked.
 */
export function probeRootfsEntries(busyboxPath: string = DEFAULT_BUSYBOX): TarEntry[] {
  const busybox = readBusybox(busyboxPath);
  const available = new Set(listApplets(busyboxPath));
  const applets = PROBE_APPLETS.filter((a) => available.has(a));
  const text = (lines: readonly string[]) => Buffer.from(`${lines.join("\n")}\n`);
  return [
    ...["bin", "dev", "etc", "home", "proc", "run", "sys", "var"].map(
      (path): TarEntry => ({ type: "dir", path, mode: 0o755 }),
    ),
    { type: "dir", path: "root", mode: 0o700 },
    { type: "dir", path: "tmp", mode: 0o1777 },
    ...Object.entries(PROBE_USERS).map(
      ([name, id]): TarEntry => ({
        type: "dir",
        path: `home/${name}`,
        mode: 0o755,
        uid: id,
        gid: id,
      }),
    ),
    { type: "file", path: "bin/busybox", mode: 0o755, data: busybox },
    ...applets.map((a): TarEntry => ({ type: "symlink", path: `bin/${a}`, target: "busybox" })),
    { type: "file", path: "etc/passwd", mode: 0o644, data: text(PASSWD) },
    { type: "file", path: "etc/group", mode: 0o644, data: text(GROUP) },
    { type: "file", path: "etc/shells", mode: 0o644, data: text(["/bin/sh"]) },
  ];
}

function readBusybox(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new EngineUnavailableError(
      "probe",
      `The probe image needs a static busybox at ${path}, which cannot be read.`,
      "sudo apt-get install -y busybox-static",
      { cause: error },
    );
  }
  if (!isStaticElf(bytes)) {
    throw new EngineUnavailableError(
      "probe",
      `${path} is not a statically linked ELF binary; the probe image has no libc to run it.`,
      "sudo apt-get install -y busybox-static",
    );
  }
  return bytes;
}

function listApplets(path: string): string[] {
  return execFileSync(path, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
}

/** True for a 64- or 32-bit little-endian ELF without a PT_INTERP program header. */
function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[5] !== 1) return false;
  const is64 = b[4] === 2;
  const phoff = is64 ? Number(b.readBigUInt64LE(0x20)) : b.readUInt32LE(0x1c);
  const phentsize = b.readUInt16LE(is64 ? 0x36 : 0x2a);
  const phnum = b.readUInt16LE(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > b.length) return false;
    if (b.readUInt32LE(at) === 3 /* PT_INTERP */) return false;
  }
  return true;
}
