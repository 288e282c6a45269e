import { readFileSync } from "node:fs";
import type { PinnedVerdicts, Report } from "@keyhole/conformance";
import { describeConformance } from "@keyhole/conformance/vitest";
import { describe, expect, it } from "vitest";
import { podmanFileBackend, podmanPassBackend } from "./index.js";

// The conformance catalogue against both Podman drivers, one test per check (named by its
// id). A test fails when Podman's behaviour contradicts the declared capabilities, breaks a
// keyhole invariant, or a check errors; "exposed" alone is a finding, not a failure.
const reports: { file?: Report; pass?: Report } = {};
// Verdicts pinned per backend and engine version: an unexplained change in any cell fails.
const pinned = JSON.parse(
  readFileSync(new URL("../../conformance/src/pinned-verdicts.json", import.meta.url), "utf8"),
) as PinnedVerdicts;

describeConformance(() => podmanFileBackend(), {
  name: "podman-file conformance",
  pinned,
  onReport: (r) => {
    reports.file = r;
  },
});

// The source article (figs. 4-2 … 5-6) ran on Podman's file driver; the suite must find what it found.
describe("podman-file reproduces the article", () => {
  it("has the article's verdicts", () => {
    const results = reports.file?.backends[0]?.results;
    expect(results, "the podman-file conformance pass produced no report").toBeDefined();
    const outcome = Object.fromEntries(results!.map((r) => [r.check, r.outcome]));
    expect(outcome).toMatchObject({
      "env.child-inherits": "exposed", // 4-2
      "env.exec-session-sees": "exposed", // 4-3
      "env.proc-environ-after-unset": "exposed", // 4-4
      "env.other-uid-sees": "exposed", // 4-5
      "env.same-uid-proc-environ": "exposed", // 4-8
      "env.argv-visible-in-ps": "exposed", // 4-9
      "file.default-path-owner-mode": "exposed", // 5-1: root:root 0444
      "file.other-uid-reads-default": "exposed", // 5-1
      "file.delete-refused": "protected", // 5-1: Resource busy
      "file.root-overrides-mode": "exposed", // 5-1: CAP_DAC_OVERRIDE
      "file.write-shared-across-processes": "exposed", // 5-2
      "file.capdrop-blocks-write": "protected", // 5-3
      "file.scrub-after-use": "protected", // 5-3, shred note
      "file.uid-gid-mode-honoured": "protected", // 5-4
      "file.env-unaffected": "exposed", // 5-5
      "file.stdin-keeps-argv-clean": "protected", // 5-6
      "rest.plaintext-on-host": "exposed", // the article's note: the file driver does not encrypt
    });
    const observed = Object.fromEntries(results!.map((r) => [r.check, r.observed ?? ""]));
    expect(observed["file.default-path-owner-mode"]).toMatch(/^root:root 0444 \/run\/secrets\//);
    expect(observed["file.uid-gid-mode-honoured"]).toMatch(
      /^2000:2000 0400; uid 2000 reads; uid 3000 Permission denied$/,
    );
    expect(observed["rest.plaintext-on-host"]).toMatch(
      /^store secrets\/filedriver\/secretsdata\.json \(base64: /,
    );
    expect(observed["rest.plaintext-on-host"]).toContain("/userdata/secrets/");
  });
});

describeConformance(() => podmanPassBackend(), {
  name: "podman-pass conformance",
  pinned,
  onReport: (r) => {
    reports.pass = r;
  },
});

describe("podman-pass differs from podman-file where the driver does", () => {
  it("keeps the store encrypted, but not the copy a running container sees", () => {
    const results = reports.pass?.backends[0]?.results;
    expect(results, "the podman-pass conformance pass produced no report").toBeDefined();
    const rest = results!.find((r) => r.check === "rest.plaintext-on-host");
    expect(rest?.outcome).toBe("exposed");
    expect(rest?.observed).not.toMatch(/\bstore\b/);
    expect(rest?.observed).toContain("/userdata/secrets/");
  });
});
