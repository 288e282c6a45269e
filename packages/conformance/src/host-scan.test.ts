import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeMount, mountOf, parseMountInfo, revealsDiskCopy } from "./checks/file.js";
import { filesHolding } from "./checks/hygiene.js";
import { summarizeHits } from "./checks/rest.js";
import { fsTypeOf, scanStorage } from "./host-scan.js";

const dir = mkdtempSync(join(tmpdir(), "kh-conformance-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("scanStorage", () => {
  it("finds raw and base64 copies, skips excluded dirs, and classifies store vs container", async () => {
    const marker = randomBytes(16).toString("hex");
    mkdirSync(join(dir, "secrets"), { recursive: true });
    mkdirSync(join(dir, "overlay-containers", "c0ffee", "userdata"), { recursive: true });
    mkdirSync(join(dir, "overlay", "layer"), { recursive: true });
    writeFileSync(
      join(dir, "secrets", "data.json"),
      `{"x":"${Buffer.from(marker).toString("base64")}"}`,
    );
    writeFileSync(join(dir, "overlay-containers", "c0ffee", "userdata", "s"), marker);
    writeFileSync(join(dir, "overlay", "layer", "copy"), marker);
    writeFileSync(join(dir, "unrelated"), "nothing here");
    const scan = await scanStorage(
      { roots: [dir], excludeDirs: ["overlay"], storeDirs: [join(dir, "secrets")] },
      new Map([["file", marker]]),
      [],
      ["c0ffee"],
    );
    const got = scan.hits.map((h) => [h.path.slice(dir.length), h.form, h.kind]).sort();
    expect(got).toEqual([
      ["/overlay-containers/c0ffee/userdata/s", "raw", "container"],
      ["/secrets/data.json", "base64", "store"],
    ]);
    expect(JSON.stringify(scan.commands)).not.toContain(marker);
    expect(summarizeHits(scan.hits)).toMatch(
      /^store .*secrets\/data\.json \(base64: file\); container /,
    );
  });
  it("finds a copy between NUL and newline bytes, not a value split by one", async () => {
    const marker = randomBytes(16).toString("hex");
    const sub = join(dir, "nul");
    mkdirSync(sub, { recursive: true });
    const zeros = Buffer.alloc(1024 * 1024);
    writeFileSync(
      join(sub, "wal"),
      Buffer.concat([zeros, Buffer.from(`a\n${marker}\nb`), Buffer.from([0]), zeros]),
    );
    writeFileSync(
      join(sub, "b64"),
      Buffer.concat([Buffer.from([0]), Buffer.from(Buffer.from(marker).toString("base64")), zeros]),
    );
    writeFileSync(join(sub, "split-nul"), `${marker.slice(0, 10)}\0${marker.slice(10)}`);
    writeFileSync(join(sub, "split-nl"), `${marker.slice(0, 10)}\n${marker.slice(10)}`);
    const scan = await scanStorage(
      { roots: [sub], excludeDirs: [], storeDirs: [] },
      new Map([["file", marker]]),
      [],
      [],
    );
    const got = scan.hits.map((h) => [h.path.slice(sub.length), h.form]).sort();
    expect(got).toEqual([
      ["/b64", "base64"],
      ["/wal", "raw"],
    ]);
  });
});

describe("filesHolding (hygiene.temp-files)", () => {
  it("reports only files written since the pass started that hold a value", async () => {
    const marker = randomBytes(16).toString("hex");
    writeFileSync(join(dir, "leak.txt"), `x${marker}x`);
    writeFileSync(join(dir, "clean.txt"), "x");
    const { hits } = await filesHolding([dir], Date.now() - 60_000, [Buffer.from(marker)]);
    expect(hits).toEqual([join(dir, "leak.txt")]);
    const later = await filesHolding([dir], Date.now() + 60_000, [Buffer.from(marker)]);
    expect(later.hits).toEqual([]);
  });
});

describe("mount tables", () => {
  const mountinfo = [
    "120 100 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/var/lib/x/diff,workdir=/w",
    "131 120 254:0 /var/lib/containers/storage/overlay-containers/abc/userdata/secrets/s /run/secrets/s rw,relatime - ext4 /dev/vda rw",
    "140 120 0:60 / /run/secrets ro,relatime - tmpfs tmpfs rw,size=64k",
    "141 140 0:61 / /run/secrets/t ro,relatime - tmpfs tmpfs rw",
  ].join("\n");
  const mounts = parseMountInfo(mountinfo);

  it("finds the mount a path lives on (the last of equal mount points wins)", () => {
    expect(mountOf("/run/secrets/s", mounts)?.fsType).toBe("ext4");
    expect(mountOf("/run/secrets/other", mounts)?.fsType).toBe("tmpfs");
    expect(mountOf("/run/secrets/t", mounts)?.point).toBe("/run/secrets/t");
    expect(mountOf("/etc/x", mounts)?.fsType).toBe("overlay");
  });

  it("says whether a mount reveals the host path of a disk copy", () => {
    const bind = parseMountInfo(mountinfo.split("\n")[1]!)[0]!;
    expect(revealsDiskCopy(bind)).toBe(true);
    expect(describeMount(bind)).toBe(
      "ext4 rw bind of /var/lib/containers/storage/overlay-containers/abc/userdata/secrets/s at /run/secrets/s",
    );
    expect(revealsDiskCopy(mounts[2]!)).toBe(false);
    expect(revealsDiskCopy(mounts[0]!)).toBe(true);
    expect(describeMount(mounts[3]!)).toBe("tmpfs ro at /run/secrets/t");
  });

  it("fsTypeOf picks the longest mount point", () => {
    const table = [
      { point: "/", type: "ext4" },
      { point: "/run", type: "tmpfs" },
      { point: "/run/x", type: "ext4" },
    ];
    expect(fsTypeOf("/run/a", table)).toBe("tmpfs");
    expect(fsTypeOf("/run/x/y", table)).toBe("ext4");
    expect(fsTypeOf("/runner", table)).toBe("ext4");
  });
});
