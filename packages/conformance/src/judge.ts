import type { Capabilities } from "@keyhole/core";
import type { CheckDefinition } from "./catalogue.js";
import type { CheckResult, Evidence } from "./report.js";

/** How the request a check needs went: accepted, refused as unsupported, or failed. */
export type Gate =
  | { kind: "accepted" }
  | { kind: "unsupported"; message: string }
  | {
      kind: "error";
      message: string /** The backend accepted the request, then failed. */;
      accepted?: boolean;
    };

/** What a probe measured once its delivery was accepted. */
export interface Measurement {
  /**
   * `unmeasurable` when the check truly cannot be measured on this backend or machine (never
   * for a probe that failed: that is `error`); `reason` must then say why.
   */
  outcome: "protected" | "exposed" | "unmeasurable" | "error";
  observed?: string;
  /** Why the measurement is an `error` or `unmeasurable`. */
  reason?: string;
  evidence?: Evidence[];
  /** Contradictions only the probe can see (e.g. "declares capDrop but CAP_DAC_OVERRIDE is effective"). */
  contradictions?: string[];
}

/** The capability flags among `def.requires` the backend declares `false`. */
export function missingCapabilities(def: CheckDefinition, caps: Capabilities): string[] {
  return def.requires.filter((c) => caps[c] !== true);
}

/**
 * Turns a gate and a measurement into a result (without timing), applying the catalogue's
 * rules: an unsupported request is fine only when the backend declared it unsupported; an
 * accepted one must have been declared; a promised outcome must be `protected`; an invariant
 * must not be `exposed`. Pure: unit-tested without engines.
 *
 * @example
 * ```ts
 * judge(checkById("env.other-uid-sees"), caps, { kind: "unsupported", message: "…" });
 * // { check: "env.other-uid-sees", outcome: "unsupported", reason: "…" } when caps.envDelivery is false
 * ```
 */
export function judge(
  def: CheckDefinition,
  caps: Capabilities,
  gate: Gate,
  measured?: Measurement,
): Omit<CheckResult, "durationMs"> {
  const missing = missingCapabilities(def, caps);
  if (gate.kind === "unsupported") {
    const result: Omit<CheckResult, "durationMs"> = {
      check: def.id,
      outcome: "unsupported",
      reason: gate.message,
      ...(measured?.evidence ? { evidence: measured.evidence } : {}),
    };
    if (missing.length === 0) {
      result.contradiction = `The backend declares ${list(def.requires)} but refused the delivery with UNSUPPORTED_DELIVERY: ${gate.message}`;
    }
    return result;
  }
  const contradictions: string[] = [];
  const acceptedIt = gate.kind === "accepted" || (gate.kind === "error" && gate.accepted === true);
  if (acceptedIt && missing.length > 0) {
    contradictions.push(
      `The backend declares ${missing.map((c) => `${c}: false`).join(", ")} but accepted the delivery instead of throwing UNSUPPORTED_DELIVERY.`,
    );
  }
  if (gate.kind === "error" || !measured || measured.outcome === "error") {
    const reason =
      gate.kind === "error" ? gate.message : (measured?.reason ?? "The probe measured nothing.");
    contradictions.push(...(measured?.contradictions ?? []));
    return {
      check: def.id,
      outcome: "error",
      reason,
      ...(measured?.observed ? { observed: measured.observed } : {}),
      ...(contradictions.length > 0 ? { contradiction: contradictions.join(" ") } : {}),
      ...(measured?.evidence ? { evidence: measured.evidence } : {}),
    };
  }
  if (measured.outcome === "unmeasurable") {
    // Not a pass and not a finding: the reason is the whole result. A missing reason would
    // leave the reader guessing, so it is spelled out as such.
    contradictions.push(...(measured.contradictions ?? []));
    return {
      check: def.id,
      outcome: "unmeasurable",
      reason: measured.reason ?? "The check reported unmeasurable without saying why.",
      ...(measured.observed ? { observed: measured.observed } : {}),
      ...(contradictions.length > 0 ? { contradiction: contradictions.join(" ") } : {}),
      ...(measured.evidence ? { evidence: measured.evidence } : {}),
    };
  }
  const promised =
    def.promisedBy.length > 0 &&
    def.promisedBy.every((c) => caps[c] === true) &&
    missing.length === 0;
  if (promised && measured.outcome !== "protected") {
    contradictions.push(`The backend declares ${list(def.promisedBy)}, yet ${def.exposedMeans}.`);
  }
  if (def.invariant && measured.outcome === "exposed") {
    contradictions.push(`Invariant broken: ${def.exposedMeans}.`);
  }
  contradictions.push(...(measured.contradictions ?? []));
  return {
    check: def.id,
    outcome: measured.outcome,
    ...(measured.observed !== undefined ? { observed: measured.observed } : {}),
    ...(contradictions.length > 0 ? { contradiction: contradictions.join(" ") } : {}),
    ...(measured.evidence ? { evidence: measured.evidence } : {}),
  };
}

/** The verdict of the vitest front door on one result: fails on `error` or a contradiction. */
export interface Verdict {
  pass: boolean;
  /** Why it fails, or a one-line summary when it passes. */
  message: string;
}

/**
 * Whether a result passes: `protected`, `exposed` and `unsupported` all pass unless they carry
 * a contradiction; `error` always fails, and so does `unmeasurable` (a check nobody could
 * measure must never look like one that held; the vitest front door turns it into a skip only
 * when the test declared it expected, with a reason).
 *
 * @example
 * ```ts
 * verdictOf({ check: "env.child-inherits", outcome: "exposed", durationMs: 3 }).pass; // true
 * ```
 */
export function verdictOf(result: CheckResult): Verdict {
  const summary = `${result.check}: ${result.outcome}${result.observed ? ` (${result.observed})` : ""}`;
  if (result.contradiction) return { pass: false, message: `${summary} — ${result.contradiction}` };
  if (result.outcome === "error") {
    return { pass: false, message: `${summary} — ${result.reason ?? "error without a reason"}` };
  }
  if (result.outcome === "unmeasurable") {
    return {
      pass: false,
      message: `${summary} — not measurable here: ${result.reason ?? "no reason given"}. If that is expected for this backend, declare it in describeConformance's expectUnmeasurable with your reason (then it is reported as skipped, never as passed).`,
    };
  }
  return { pass: true, message: summary };
}

function list(caps: readonly string[]): string {
  return caps.map((c) => `${c}: true`).join(", ");
}
