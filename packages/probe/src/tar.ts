/** One entry of a tar archive written by {@link writeTar}. */
export type TarEntry =
  | { type: "dir"; path: string; mode: number; uid?: number; gid?: number }
  | { type: "file"; path: string; mode: number; data: Buffer; uid?: number; gid?: number }
  | { type: "symlink"; path: string; target: string };

const BLOCK = 512;

/**
 * Packs `entries` into a POSIX ustar archive, byte for byte reproducible: entries sorted by
 * path, mtime 0, numeric owners only (no user/group names), no padding beyond the format's own.
 * Same entries in → same bytes out, whatever the host, clock or umask.
 *
 * @example
 * ```ts
 * writeTar([{ type: "file", path: "etc/hostname", mode: 0o644, data: Buffer.from("probe\n") }]);
 * ```
 */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Buffer[] = [];
  for (const entry of sorted) {
    const data = entry.type === "file" ? entry.data : Buffer.alloc(0);
    chunks.push(header(entry, data.length));
    if (data.length > 0) {
      chunks.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) chunks.push(Buffer.alloc(pad));
    }
  }
  // Two zero blocks end a tar archive.
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = entry.type === "dir" ? `${entry.path.replace(/\/$/, "")}/` : entry.path;
  const [prefix, base] = splitName(name);
  h.write(base, 0, 100, "utf8");
  octal(h, 100, 8, entry.type === "symlink" ? 0o777 : entry.mode);
  octal(h, 108, 8, entry.type === "symlink" ? 0 : (entry.uid ?? 0));
  octal(h, 116, 8, entry.type === "symlink" ? 0 : (entry.gid ?? 0));
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.write(" ".repeat(8), 148, 8, "ascii");
  h.write(entry.type === "dir" ? "5" : entry.type === "symlink" ? "2" : "0", 156, 1, "ascii");
  if (entry.type === "symlink") {
    if (Buffer.byteLength(entry.target) > 100)
      throw new Error(`symlink target too long: ${entry.target}`);
    h.write(entry.target, 157, 100, "utf8");
  }
  h.write("ustar\u000000", 257, 8, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return h;
}

function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ["", name];
  const cut = name.lastIndexOf("/", name.length - 2);
  const prefix = name.slice(0, cut);
  const base = name.slice(cut + 1);
  if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(base) > 100) {
    throw new Error(`tar path too long for ustar: ${name}`);
  }
  return [prefix, base];
}

function octal(h: Buffer, offset: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, width, "ascii");
}
