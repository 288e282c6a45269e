// Test helper (not shipped): for every check of the catalogue, synthetic probe output for the
// cases `protected`, `exposed`, `absent` (the thing looked at is not there) and, where a check
// has a host-side positive control, `controlBroken` (everything else says protected). The
// generic failures (no end marker, a failed fixture control) are derived by the tests.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SecretBackend } from "@keyhole/core";
import { OUTSIDE_TARGET } from "./fixtures.js";
import { sha256 } from "./pass.js";
import {
  type Case,
  denied,
  EMPTY,
  envDigest,
  fakeStorage,
  mountLine,
  noSuchFile,
  plainDigest,
  storageCli,
  type Values,
} from "./test-synthetic.js";

/** The synthetic cases of one check. */
export interface Scenario {
  protected: Case;
  exposed: Case;
  /** What is looked at is missing (a file, a digest, the engine's storage): never `protected`. */
  absent: Case;
  /** The host-side positive control fails, everything else as in `protected`. */
  controlBroken?: Case;
}

const STAT_ROOT_400 = "stat=root:root 400 0:0 32";
const ps = (extra = "") =>
  `PID USER ARGS\n1 root sh -c\n7 root kh-runner ${extra}\n6 root kh-consumer\n`;

const inspectCli =
  (doc: (v: Values) => unknown) =>
  (args: string[], v: Values): { stdout: string } | undefined =>
    args[0] === "inspect" ? { stdout: JSON.stringify(doc(v)) } : undefined;

function cleanupCli(left: boolean, psFails = false) {
  return (args: string[]) => {
    if (args[0] === "ps") return psFails ? undefined : { stdout: left ? "abc123\n" : "" };
    if (args[0] === "container") return { code: 125, stderr: "Error: no such container" };
    if (args[0] === "secret" || args[0] === "volume") return { stdout: "" };
    return undefined;
  };
}

const cleanupPrepare = (ids: string[]) => (pass: import("./pass.js").Pass) => {
  pass.disposeError = null;
  pass.beforeDispose = { ok: true, code: 0, ids, stderr: "" };
};

const restProtected: Case = {
  cli: storageCli,
  prepare: (_p, v) => fakeStorage(v),
};

function leakyErrors(b: SecretBackend): SecretBackend {
  return {
    ...b,
    createSecret: async (name, value, options) => {
      if (name.startsWith("kh-err-")) {
        try {
          return await b.createSecret(name, value, options);
        } catch (error) {
          throw new Error(`${(error as Error).message} (value was ${String(value)})`);
        }
      }
      return b.createSecret(name, value, options);
    },
  };
}

function silentErrors(b: SecretBackend): SecretBackend {
  return {
    ...b,
    createSecret: async (name, value) => ({
      name,
      id: name,
      backendId: b.id,
      labels: {},
      size: String(value).length,
      envSafe: true,
    }),
    removeSecret: async () => {},
    replaceSecret: async (s) => s,
  };
}

/** Every check's scenarios, by id. */
export const SCENARIOS: Record<string, Scenario> = {
  "env.child-inherits": {
    protected: { replies: () => [[`before=${EMPTY}\nafter=${EMPTY}`]] },
    exposed: { replies: (v) => [[`before=${envDigest(v.env)}\nafter=${EMPTY}`]] },
    absent: { replies: () => [["before=\nafter="]] },
  },
  "env.exec-session-sees": {
    protected: { replies: () => [[`unset_count=0\nsession=${EMPTY}`]] },
    exposed: { replies: (v) => [[`unset_count=0\nsession=${envDigest(v.env)}`]] },
    absent: { replies: () => [["unset_count=\nsession="]] },
  },
  "env.proc-environ-after-unset": {
    protected: {
      replies: () => [
        [
          `environ=${EMPTY}\nreadable=${sha256("x")}`,
          `environ=${EMPTY}\nreadable=${denied("/proc/1/environ")}`,
        ],
      ],
    },
    exposed: {
      replies: (v) => [
        [
          `environ=${envDigest(v.env)}\nreadable=${sha256("x")}`,
          `environ=${EMPTY}\nreadable=${denied("/proc/1/environ")}`,
        ],
      ],
    },
    absent: {
      replies: () => [
        [
          `environ=${EMPTY}\nreadable=${noSuchFile("/proc/1/environ")}`,
          `environ=${EMPTY}\nreadable=${noSuchFile("/proc/1/environ")}`,
        ],
      ],
    },
  },
  "env.other-uid-sees": {
    protected: { replies: () => [`uid=3000\nsession=${EMPTY}`] },
    exposed: { replies: (v) => [`uid=3000\nsession=${envDigest(v.env)}`] },
    absent: { replies: () => ["uid=3000\nsession="] },
  },
  "env.same-uid-proc-environ": {
    protected: {
      replies: () => [
        [
          `pid=12\nowner=2000\nenviron=${EMPTY}\nreadable=${denied("/proc/12/environ")}`,
          `pid=12\nowner=2000\nenviron=${EMPTY}\nreadable=${denied("/proc/12/environ")}`,
        ],
      ],
    },
    exposed: {
      replies: (v) => [
        [
          `pid=12\nowner=2000\nenviron=${envDigest(v.env)}\nreadable=${sha256("x")}`,
          `pid=12\nowner=2000\nenviron=${EMPTY}\nreadable=${denied("/proc/12/environ")}`,
        ],
      ],
    },
    absent: {
      replies: () => [
        [
          `pid=12\nowner=2000\nenviron=${EMPTY}\nreadable=${noSuchFile("/proc/12/environ")}`,
          `pid=12\nowner=2000\nenviron=${EMPTY}\nreadable=${noSuchFile("/proc/12/environ")}`,
        ],
      ],
    },
  },
  "env.argv-visible-in-ps": {
    protected: { replies: () => [[ps()]] },
    exposed: { replies: (v) => [[ps(v.env)]] },
    absent: { replies: () => [["PID USER ARGS\n1 root sh -c\n"]] },
  },
  "env.engine-inspect-shows": {
    protected: { cli: inspectCli(() => [{ Config: { Env: ["KH_SECRET"] } }]) },
    exposed: { cli: inspectCli((v) => [{ Config: { Env: [`KH_SECRET=${v.env}`] } }]) },
    absent: { cli: inspectCli(() => []) },
    controlBroken: { cli: () => ({ code: 125, stderr: "Error: no such container" }) },
  },
  "file.default-path-owner-mode": {
    protected: { replies: (v) => [[`${STAT_ROOT_400}\nread=${sha256(v.file)}`]] },
    exposed: { replies: (v) => [[`stat=root:root 444 0:0 32\nread=${sha256(v.file)}`]] },
    absent: {
      replies: (v) => [
        [
          `stat=stat: can't stat '${v.target("file")}': No such file or directory\nread=${noSuchFile(v.target("file"))}`,
        ],
      ],
    },
  },
  "file.other-uid-reads-default": {
    protected: { replies: (v) => [[`read=${denied(v.target("file"))}`]] },
    exposed: { replies: (v) => [[`read=${sha256(v.file)}`]] },
    absent: { replies: (v) => [[`read=${noSuchFile(v.target("file"))}`]] },
  },
  "file.uid-gid-mode-honoured": {
    protected: {
      replies: (v) => [
        [
          `stat=alice:alice 400 2000:2000 32\nread=${sha256(v.owned)}`,
          `read=${sha256(v.owned)}`,
          `read=${denied(v.target("owned"))}`,
        ],
      ],
    },
    exposed: {
      replies: (v) => [
        [
          `stat=alice:alice 400 2000:2000 32\nread=${sha256(v.owned)}`,
          `read=${sha256(v.owned)}`,
          `read=${sha256(v.owned)}`,
        ],
      ],
    },
    absent: {
      replies: (v) => [
        [
          `stat=alice:alice 400 2000:2000 32\nread=${sha256(v.owned)}`,
          `read=${sha256(v.owned)}`,
          `read=${noSuchFile(v.target("owned"))}`,
        ],
      ],
    },
  },
  "file.env-unaffected": {
    protected: { replies: (v) => [`file=${denied(v.target("owned"))}\nplain=${EMPTY}`] },
    exposed: {
      replies: (v) => [`file=${denied(v.target("owned"))}\nplain=${plainDigest(v.plain)}`],
    },
    absent: { replies: (v) => [`file=${noSuchFile(v.target("owned"))}\nplain=${EMPTY}`] },
  },
  "file.stdin-keeps-argv-clean": {
    protected: { replies: (v) => [[`consumer=${sha256(v.file)}\npid=6`, ps()]] },
    exposed: { replies: (v) => [[`consumer=${sha256(v.file)}\npid=6`, ps(v.file)]] },
    absent: { replies: () => [["consumer=\npid=", ps()]] },
  },
  "file.visible-in-proc-mounts": {
    protected: { replies: (v) => [[mountLine(v.target("file"), "tmpfs")]] },
    exposed: {
      replies: (v) => [[mountLine(v.target("file"), "ext4", "/var/lib/containers/x", "/dev/sda1")]],
    },
    absent: { replies: () => [[""]] },
  },
  "file.target-outside-secrets-dir": {
    protected: {
      replies: (v) => [
        [`read=${sha256(v.outside)}\n${STAT_ROOT_400}`, mountLine(OUTSIDE_TARGET, "tmpfs")],
      ],
    },
    exposed: {
      replies: (v) => [[`read=${sha256(v.outside)}\n${STAT_ROOT_400}`, mountLine("/", "overlay")]],
    },
    absent: { replies: (v) => [[`read=${sha256(v.outside)}\n${STAT_ROOT_400}`, ""]] },
  },
  "file.root-overrides-mode": {
    protected: {
      replies: (v) => [
        `stat=root:root 444 0:0 32\ncapeff=00000000a80425fb\nwrite=refused sh: can't create ${v.target("file")}: Read-only file system\nafter=${sha256(v.file)}`,
      ],
    },
    exposed: {
      replies: () => [
        `stat=root:root 444 0:0 32\ncapeff=00000000a80425fb\nwrite=ok\nafter=${sha256("keyhole-overwritten-by-root")}`,
      ],
    },
    absent: {
      replies: (v) => [
        `stat=stat: can't stat '${v.target("file")}': No such file or directory\ncapeff=00000000a80425fb\nwrite=refused sh: can't create ${v.target("file")}: No such file or directory\nafter=`,
      ],
    },
  },
  "file.write-shared-across-processes": {
    protected: {
      replies: (v) => [
        [
          `write=refused sh: can't create ${v.target("file")}: Read-only file system`,
          `read=${sha256(v.file)}`,
          `read=${sha256(v.file)}`,
        ],
      ],
    },
    exposed: {
      replies: () => [
        [
          "write=ok",
          `read=${sha256("keyhole-shared-write")}`,
          `read=${sha256("keyhole-shared-write")}`,
        ],
      ],
    },
    absent: {
      replies: (v) => [
        [
          `write=refused sh: can't create ${v.target("file")}: No such file or directory`,
          `read=${noSuchFile(v.target("file"))}`,
          `read=${noSuchFile(v.target("file"))}`,
        ],
      ],
    },
  },
  "file.delete-refused": {
    protected: {
      replies: (v) => [
        `before=yes\nrm=1 rm: can't remove '${v.target("file")}': Resource busy\nexists=yes`,
      ],
    },
    exposed: { replies: () => ["before=yes\nrm=0 \nexists=no"] },
    absent: { replies: () => ["before=no\nrm=0 \nexists=no"] },
  },
  "file.capdrop-blocks-write": {
    protected: {
      replies: (v) => [
        `stat=root:root 444 0:0 32\ncapeff=00000000a80425f9\nwrite=refused sh: can't create ${v.target("capdrop")}: Permission denied\nafter=${sha256(v.capdrop)}`,
      ],
    },
    exposed: {
      replies: () => [
        `stat=root:root 444 0:0 32\ncapeff=00000000a80425f9\nwrite=ok\nafter=${sha256("keyhole-overwritten-without-dac-override")}`,
      ],
    },
    absent: {
      replies: (v) => [
        `stat=stat: can't stat '${v.target("capdrop")}': No such file or directory\ncapeff=\nwrite=refused sh: can't create x: No such file or directory\nafter=`,
      ],
    },
  },
  "file.scrub-after-use": {
    protected: {
      replies: (v) => [
        `stat=root:root 644 0:0 32\nread=${sha256(v.scrub)}`,
        [`stat=root:root 644 0:0 0\nread=${EMPTY}\ncontent=`, `read=${EMPTY}`, `read=${EMPTY}`],
      ],
    },
    exposed: {
      replies: (v) => [
        `stat=root:root 644 0:0 32\nread=${sha256(v.scrub)}`,
        [
          `stat=root:root 644 0:0 32\nread=${sha256(v.scrub)}\ncontent=`,
          `read=${sha256(v.scrub)}`,
          `read=${EMPTY}`,
        ],
      ],
    },
    absent: {
      replies: (v) => [
        `stat=root:root 644 0:0 32\nread=${sha256(v.scrub)}`,
        [
          `stat=\nread=${noSuchFile(v.target("scrub"))}\ncontent=`,
          `read=${noSuchFile(v.target("scrub"))}`,
          `read=${noSuchFile(v.target("scrub"))}`,
        ],
      ],
    },
  },
  "rest.plaintext-on-host": {
    protected: restProtected,
    exposed: { cli: storageCli, prepare: (_p, v) => fakeStorage(v, { copy: v.file }) },
    absent: { cli: (args, v) => storageCli(args, { ...v, storage: "/nonexistent/kh-storage" }) },
    controlBroken: { cli: storageCli, prepare: (_p, v) => fakeStorage(v, { controls: false }) },
  },
  "rest.plaintext-on-disk": {
    protected: restProtected,
    exposed: { cli: storageCli, prepare: (_p, v) => fakeStorage(v, { copy: v.file }) },
    absent: { cli: (args, v) => storageCli(args, { ...v, storage: "/nonexistent/kh-storage" }) },
    controlBroken: { cli: storageCli, prepare: (_p, v) => fakeStorage(v, { controls: false }) },
  },
  "rest.plaintext-after-dispose": {
    protected: {
      cli: storageCli,
      prepare: (p, v) => {
        p.disposeError = null;
        fakeStorage(v);
      },
    },
    exposed: {
      cli: storageCli,
      prepare: (p, v) => {
        p.disposeError = null;
        fakeStorage(v, { copy: v.file });
      },
    },
    absent: {
      cli: (args, v) => storageCli(args, { ...v, storage: "/nonexistent/kh-storage" }),
      prepare: (p) => {
        p.disposeError = null;
      },
    },
    controlBroken: {
      cli: storageCli,
      prepare: (p, v) => {
        p.disposeError = null;
        fakeStorage(v, { controls: false });
      },
    },
  },
  "lifecycle.replace": {
    protected: { replies: (v) => [`read=${sha256(v.replaceNew)}`] },
    exposed: { replies: (v) => [`read=${sha256(v.replaceOld)}`] },
    absent: { replies: (v) => [`read=${noSuchFile(v.target("replace"))}`] },
  },
  "lifecycle.cleanup": {
    protected: { cli: cleanupCli(false), prepare: (p, v) => cleanupPrepare([v.containerId])(p) },
    exposed: { cli: cleanupCli(true), prepare: (p, v) => cleanupPrepare([v.containerId])(p) },
    absent: { cli: cleanupCli(false, true), prepare: (p, v) => cleanupPrepare([v.containerId])(p) },
    controlBroken: { cli: cleanupCli(false), prepare: (p) => cleanupPrepare([])(p) },
  },
  "limits.max-bytes": {
    protected: { replies: (v) => [[`size=${v.big.length}\nread=${sha256(v.big)}`]] },
    exposed: { replies: (v) => [[`size=${v.big.length - 1}\nread=${sha256(v.big.slice(1))}`]] },
    absent: { replies: (v) => [[`size=\nread=${noSuchFile(v.target("big"))}`]] },
  },
  "limits.binary-exact": {
    protected: {
      caps: { envDelivery: false },
      replies: (v) => [`size=${v.binary.length}\nread=${sha256(v.binary)}`],
    },
    exposed: {
      caps: { envDelivery: false },
      replies: (v) => [`size=${v.binary.length - 2}\nread=${sha256(v.binary.slice(2))}`],
    },
    absent: {
      caps: { envDelivery: false },
      replies: (v) => [`size=\nread=${noSuchFile(v.target("binary"))}`],
    },
  },
  "hygiene.errors-redacted": {
    protected: {},
    exposed: { backend: leakyErrors },
    // Nothing throws: no error text was ever examined.
    absent: { backend: silentErrors },
    controlBroken: { backend: silentErrors },
  },
  "hygiene.temp-files": {
    protected: {},
    exposed: {
      prepare: (p, v) => {
        p.textValues.set("leak", v.file);
        p.addValue("leak", v.file);
        writeFileSync(join(tmpdir(), `kh-synthetic-leak-${v.containerId.slice(0, 8)}`), v.file);
      },
    },
    absent: {
      prepare: () => {
        process.env.TMPDIR = "/nonexistent/kh-tmp";
      },
    },
    controlBroken: {
      prepare: () => {
        process.env.TMPDIR = "/nonexistent/kh-tmp";
      },
    },
  },
  "hygiene.host-argv-environ": {
    protected: {},
    exposed: {
      prepare: (p, v) => {
        p.addValue("leak", v.file);
        // A host process that lives for milliseconds, the value in its argv.
        return new Promise<void>((done) => execFile("true", [v.file], () => done()));
      },
    },
    absent: {
      prepare: (p) => {
        p.procs.canary = async () => false;
      },
    },
    controlBroken: {
      prepare: (p) => {
        p.procs.canary = async () => false;
      },
    },
  },
};
