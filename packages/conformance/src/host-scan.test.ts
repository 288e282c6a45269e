import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeMount, mountOf, parseMountInfo, revealsDiskCopy } from "./checks/file.js";
import { filesHolding } from "./checks/hygiene.js";
import { summarizeHits } from "./checks/rest.js";
import type { EngineCli } from "./host-engine.js";
import { fsTypeOf, scanStorage, storageScope } from "./host-scan.js";

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
      {
        roots: [dir],
        excludeDirs: ["overlay"],
        storeDirs: [join(dir, "secrets")],
        controls: new Map(),
        sources: [],
      },
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
      { roots: [sub], excludeDirs: [], storeDirs: [], controls: new Map(), sources: [] },
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

describe("scanStorage fails closed", () => {
  const scope = (roots: string[], controls = new Map<string, string>()) => ({
    roots,
    excludeDirs: [],
    storeDirs: [],
    controls,
    sources: [],
  });
  it("names nothing scanned as a problem, never as no copy", async () => {
    const scan = await scanStorage(
      scope(["/nonexistent/kh"]),
      new Map([["f", "x".repeat(16)]]),
      [],
      [],
    );
    expect(scan.hits).toEqual([]);
    expect(scan.problems).toEqual(["Nothing to scan: none of /nonexistent/kh exists."]);
  });
  it("reports which positive controls it found", async () => {
    const sub = join(dir, "controls");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "db"), "graph root: /var/lib/x\0");
    const scan = await scanStorage(
      scope(
        [sub],
        new Map([
          ["graph root", "/var/lib/x"],
          ["other", "not-there-anywhere-0001"],
        ]),
      ),
      new Map([["f", randomBytes(16).toString("hex")]]),
      [],
      [],
    );
    expect(scan.problems).toEqual([]);
    expect(scan.controlsFound).toEqual(["graph root"]);
    expect(scan.hits).toEqual([]);
  });
  it("a grep killed by its timeout is a problem, not an empty answer", async () => {
    const scan = await scanStorage(
      scope([dir]),
      new Map([["f", "y".repeat(16)]]),
      [],
      [],
      new Map(),
      1,
    );
    expect(scan.problems.join(" ")).toMatch(/timeout|ended with code/);
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

describe("storageScope", () => {
  // A stand-in for the engine CLI: only `info` is asked, and only its JSON shape matters here.
  const podmanCli: EngineCli = {
    kind: "podman",
    binary: "podman",
    run: async () => ({
      code: 0,
      stdout: JSON.stringify({ store: { graphRoot: dir, runRoot: dir } }),
      stderr: "",
    }),
  };

  it("scans what the backend declares in engine.storage (its store classified as store)", async () => {
    const store = mkdtempSync(join(dir, "declared-store-"));
    const gpg = mkdtempSync(join(dir, "declared-gpg-"));
    const scope = await storageScope(
      {
        kind: "podman",
        name: "podman",
        storage: [
          { path: store, kind: "store" },
          { path: gpg, kind: "engine" },
        ],
      },
      podmanCli,
    );
    expect(scope.roots).toEqual(expect.arrayContaining([store, gpg]));
    expect(scope.storeDirs).toContain(store);
  });

  it("ignores the old PASSWORD_STORE_DIR side door in engine.env", async () => {
    const store = mkdtempSync(join(dir, "env-store-"));
    const scope = await storageScope(
      { kind: "podman", name: "podman", env: { PASSWORD_STORE_DIR: store } },
      podmanCli,
    );
    expect(scope.roots).not.toContain(store);
  });

  it("scans the declared paths alone for an engine of kind other", async () => {
    const store = mkdtempSync(join(dir, "other-store-"));
    const scope = await storageScope(
      { kind: "other", name: "vault", storage: [{ path: store, kind: "store" }] },
      undefined,
    );
    expect(scope).toEqual({
      roots: [store],
      excludeDirs: [],
      storeDirs: [store],
      controls: new Map(),
      sources: ["engine.storage"],
    });
  });
  it("is unmeasurable for an engine of kind other that declares no storage", async () => {
    await expect(storageScope({ kind: "other", name: "vault" }, undefined)).rejects.toThrow(
      /declares no engine.storage/,
    );
  });
});
