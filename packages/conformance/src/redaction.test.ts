import { REDACTED } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { Redactor, valueForms } from "./redaction.js";

const value = "0123456789abcdef0123456789abcdef";

describe("Redactor", () => {
  it("knows a value as is, base64-encoded and by its first 12 characters", () => {
    expect(valueForms(value)).toEqual([
      value,
      Buffer.from(value).toString("base64"),
      value.slice(0, 12),
    ]);
    const bin = new Uint8Array([0, 0xff, ...Buffer.from("printable-run-here"), 0]);
    expect(valueForms(bin)).toContain("printable-run-here");
  });

  it("redacts every form, longest first", () => {
    const r = new Redactor([value]);
    const b64 = Buffer.from(value).toString("base64");
    expect(r.text(`a=${value} b=${b64} c=${value.slice(0, 12)}…`)).toBe(
      `a=${REDACTED} b=${REDACTED} c=${REDACTED}…`,
    );
  });

  it("redacts before truncating, so a cut never leaves part of a value", () => {
    const r = new Redactor([value]);
    // The value straddles the cut at 2000 characters: cutting first would keep 5 of its characters.
    const text = `${"x".repeat(1995)}${value}`;
    const clipped = r.clip(text);
    expect(clipped).not.toContain(value.slice(0, 5));
    expect(clipped.startsWith(`${"x".repeat(1995)}[REDA`)).toBe(true);
    expect(clipped).toMatch(/… \[\d+ more characters\]$/);
  });

  it("redacts every text field of an evidence step", () => {
    const r = new Redactor([value]);
    const e = r.evidence({
      where: "container",
      argv: ["sh", "-c", `echo ${value}`],
      stdout: value,
      stderr: value,
      note: value,
    });
    expect(JSON.stringify(e)).not.toContain(value.slice(0, 12));
    expect(e.stdout).toBe(REDACTED);
  });

  it("sweeps a report: a leaked value is found and redacted deep", () => {
    const r = new Redactor([value]);
    const clean = r.sweep({ a: ["fine"] });
    expect(clean).toEqual({ value: { a: ["fine"] }, leaked: false, chars: 14 });
    const dirty = r.sweep({ a: [{ observed: `got ${value}` }] });
    expect(dirty.leaked).toBe(true);
    expect(dirty.value).toEqual({ a: [{ observed: `got ${REDACTED}` }] });
  });
});
