/** What a redacted value is replaced with. */
export const REDACTED = "[REDACTED]";

const registered = new Map<string, number>();

/**
 * Registers a secret value so that {@link redact} removes it from any text. Called by every
 * backend's `createSecret`; call it yourself for values keyhole never saw. The value is also
 * registered in the forms engines are known to echo it in: base64 (Podman's file driver store,
 * Docker's API) and, for values with a trailing newline, without it.
 *
 * Returns a function that unregisters it again (reference counted).
 */
export function registerSecretValue(value: string | Uint8Array): () => void {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  if (bytes.length === 0) return () => {};
  const forms = new Set<string>();
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  forms.add(text);
  forms.add(text.trimEnd());
  forms.add(Buffer.from(bytes).toString("base64"));
  // Also every printable run of 4+ characters of a binary value, as engines print fragments.
  for (const run of text.split(/[\u0000-\u0008\u000e-\u001f\ufffd]+/)) {
    if (run.length >= 4) forms.add(run);
  }
  for (const f of forms) if (f.length > 0) registered.set(f, (registered.get(f) ?? 0) + 1);
  return () => {
    for (const f of forms) {
      const n = (registered.get(f) ?? 1) - 1;
      if (n <= 0) registered.delete(f);
      else registered.set(f, n);
    }
  };
}

/**
 * Replaces every registered secret value (see {@link registerSecretValue}) and every value in
 * `extra` with `[REDACTED]`. Longest values first, so a value that contains another is removed whole.
 *
 * @example
 * ```ts
 * registerSecretValue("s3cr3t");
 * redact("token=s3cr3t"); // "token=[REDACTED]"
 * ```
 */
export function redact(text: string, extra: readonly (string | Uint8Array)[] = []): string {
  const values = [...registered.keys()];
  for (const e of extra) {
    const s = typeof e === "string" ? e : new TextDecoder().decode(e);
    if (s.length > 0) values.push(s);
  }
  if (values.length === 0) return text;
  values.sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of values) out = out.split(v).join(REDACTED);
  return out;
}

/** True when `text` still contains a registered secret value (or one of `extra`). */
export function containsSecret(
  text: string,
  extra: readonly (string | Uint8Array)[] = [],
): boolean {
  return redact(text, extra) !== text;
}
