import { describe, expect, it } from "vitest";
import { checkById } from "./catalogue.js";
import { judge, verdictOf } from "./judge.js";
import { NO_CAPABILITIES } from "./test-fake-backend.js";

const ALL = {
  ...NO_CAPABILITIES,
  envDelivery: true,
  fileDelivery: true,
  fileOwnership: true,
  fileMode: true,
  scrubAfterUse: true,
  targetOutsideSecretsDir: true,
  capDrop: true,
  replaceInPlace: true,
  binarySafe: true,
};
const accepted = { kind: "accepted" } as const;
const refused = { kind: "unsupported", message: "[keyhole] [x] cannot" } as const;

describe("judge", () => {
  it("unmeasurable keeps its reason and never passes", () => {
    const r = judge(checkById("rest.plaintext-on-host"), ALL, accepted, {
      outcome: "unmeasurable",
      reason: "no storage path declared",
    });
    expect(r).toEqual({
      check: "rest.plaintext-on-host",
      outcome: "unmeasurable",
      reason: "no storage path declared",
    });
    const v = verdictOf({ ...r, durationMs: 1 });
    expect(v.pass).toBe(false);
    expect(v.message).toContain("not measurable here: no storage path declared");
  });

  it("unmeasurable without a reason says so", () => {
    const r = judge(checkById("lifecycle.cleanup"), ALL, accepted, { outcome: "unmeasurable" });
    expect(r.reason).toBe("The check reported unmeasurable without saying why.");
  });

  it("an exposed finding is not a contradiction", () => {
    const r = judge(checkById("env.other-uid-sees"), ALL, accepted, {
      outcome: "exposed",
      observed: "uid 3000 has it",
    });
    expect(r).toEqual({
      check: "env.other-uid-sees",
      outcome: "exposed",
      observed: "uid 3000 has it",
    });
    expect(verdictOf({ ...r, durationMs: 1 }).pass).toBe(true);
  });

  it("a refusal the backend declared is `unsupported` with the adapter's message as reason", () => {
    const caps = { ...ALL, envDelivery: false };
    const r = judge(checkById("env.child-inherits"), caps, refused);
    expect(r).toEqual({
      check: "env.child-inherits",
      outcome: "unsupported",
      reason: refused.message,
    });
    expect(verdictOf({ ...r, durationMs: 0 }).pass).toBe(true);
  });

  it("a refusal of a declared delivery contradicts the capabilities", () => {
    const r = judge(checkById("env.child-inherits"), ALL, refused);
    expect(r.outcome).toBe("unsupported");
    expect(r.contradiction).toBe(
      "The backend declares envDelivery: true but refused the delivery with UNSUPPORTED_DELIVERY: [keyhole] [x] cannot",
    );
    expect(verdictOf({ ...r, durationMs: 0 }).pass).toBe(false);
  });

  it("accepting an undeclared delivery contradicts the capabilities, whatever was measured", () => {
    const caps = { ...ALL, envDelivery: false };
    for (const outcome of ["exposed", "protected", "error"] as const) {
      const r = judge(checkById("env.exec-session-sees"), caps, accepted, { outcome, reason: "x" });
      expect(r.contradiction).toContain("declares envDelivery: false but accepted the delivery");
    }
  });

  it("a promised outcome must be protected", () => {
    const def = checkById("file.uid-gid-mode-honoured");
    const ok = judge(def, ALL, accepted, { outcome: "protected" });
    expect(ok.contradiction).toBeUndefined();
    const lie = judge(def, ALL, accepted, { outcome: "exposed", observed: "0:0 0444" });
    expect(lie.contradiction).toBe(
      "The backend declares fileOwnership: true, fileMode: true, yet uid 3000 reads a file delivered as 2000:2000 0400.",
    );
    // Not promised when the backend declares it cannot: then exposure is only a finding.
    const honest = judge(
      checkById("file.capdrop-blocks-write"),
      { ...ALL, capDrop: false },
      refused,
    );
    expect(honest.contradiction).toBeUndefined();
  });

  it("an exposed invariant check fails", () => {
    const r = judge(checkById("hygiene.host-argv-environ"), ALL, accepted, { outcome: "exposed" });
    expect(r.contradiction).toMatch(/^Invariant broken: \/proc\/<pid>\/cmdline/);
  });

  it("probe-specific contradictions are kept, and errors always fail", () => {
    const r = judge(checkById("file.capdrop-blocks-write"), ALL, accepted, {
      outcome: "protected",
      contradictions: ["CAP_DAC_OVERRIDE still effective."],
    });
    expect(r.contradiction).toBe("CAP_DAC_OVERRIDE still effective.");
    const e = judge(checkById("env.child-inherits"), ALL, { kind: "error", message: "boom" });
    expect(e).toEqual({ check: "env.child-inherits", outcome: "error", reason: "boom" });
    expect(verdictOf({ ...e, durationMs: 0 })).toEqual({
      pass: false,
      message: "env.child-inherits: error — boom",
    });
  });
});
