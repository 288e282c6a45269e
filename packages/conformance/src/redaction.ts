import { REDACTED, redact } from "@keyhole/core";
import type { Evidence } from "./report.js";

/** The longest stdout/stderr an evidence step keeps (after redaction). */
export const EVIDENCE_TEXT_LIMIT = 2000;

/**
 * The forms in which a test value could show up in text: itself, its base64 (engines echo
 * values base64-encoded), its first 12 characters (a truncated `ps` column or a cut log line
 * is still a leak) and, for binary values, every printable run of 8+ characters.
 */
export function valueForms(value: string | Uint8Array): string[] {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  const text = typeof value === "string" ? value : bytes.toString("latin1");
  const forms = new Set<string>([text, bytes.toString("base64")]);
  if (typeof value !== "string") {
    forms.add(bytes.toString("utf8"));
    for (const run of text.split(/[^\x20-\x7e]+/)) if (run.length >= 8) forms.add(run);
  }
  if (text.length >= 16) forms.add(text.slice(0, 12));
  return [...forms].filter((f) => f.length >= 4);
}

/**
 * Redacts the test values of one backend's pass from everything the suite reports, on top of
 * core's registry (`registerSecretValue`), which every adapter feeds.
 */
export class Redactor {
  readonly #forms = new Set<string>();

  constructor(values: Iterable<string | Uint8Array> = []) {
    for (const v of values) this.add(v);
  }

  /** Adds a value (and its forms) to redact. */
  add(value: string | Uint8Array): void {
    for (const f of valueForms(value)) this.#forms.add(f);
  }

  /** Every form redacted, for scans of the final report. */
  get forms(): readonly string[] {
    return [...this.#forms];
  }

  /** `text` with every value replaced by `[REDACTED]`. */
  text(text: string): string {
    return redact(text, [...this.#forms]);
  }

  /** Redacts, then truncates to `limit` characters (truncating first could leave half a value). */
  clip(text: string, limit: number = EVIDENCE_TEXT_LIMIT): string {
    const clean = this.text(text);
    return clean.length > limit
      ? `${clean.slice(0, limit)}… [${clean.length - limit} more characters]`
      : clean;
  }

  /** A redacted, truncated copy of an evidence step. */
  evidence(step: Evidence): Evidence {
    const out: Evidence = { ...step, argv: step.argv.map((a) => this.clip(a, 500)) };
    if (step.stdout !== undefined) out.stdout = this.clip(step.stdout);
    if (step.stderr !== undefined) out.stderr = this.clip(step.stderr);
    if (step.note !== undefined) out.note = this.clip(step.note, 500);
    return out;
  }

  /** True when `text` still holds a value form. */
  leaks(text: string): boolean {
    for (const f of this.#forms) if (text.includes(f)) return true;
    return false;
  }

  /**
   * The final sweep over a finished report: serializes `value`, and when any value form is in
   * it, returns a deep-redacted copy with `leaked: true` (the report never leaves with a value).
   */
  sweep<T>(value: T): { value: T; leaked: boolean; chars: number } {
    const json = JSON.stringify(value);
    const leaked = this.leaks(json);
    return { value: leaked ? this.deep(value) : value, leaked, chars: json.length };
  }

  /** Deep copy of a JSON-able value with every string redacted. */
  deep<T>(value: T): T {
    return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
      typeof v === "string" ? this.text(v) : v,
    ) as T;
  }
}

export { REDACTED };
