import { InvalidInputError } from "@keyhole/core";
import { CHECKS, type CheckDefinition } from "./catalogue.js";

/**
 * Which checks to run: ids or globs (`*` matches any run of characters, `?` one), one string or
 * a list. Default: the whole catalogue.
 *
 * @example
 * ```ts
 * selectChecks(["env.*", "file.uid-gid-mode-honoured"]);
 * ```
 */
export type CheckSelection = string | readonly string[];

/**
 * The catalogue entries matching `selection`, in catalogue order. Throws `INVALID_INPUT` naming
 * the known ids when a pattern matches nothing (a typo must not silently run zero checks).
 */
export function selectChecks(selection?: CheckSelection): CheckDefinition[] {
  if (selection === undefined) return [...CHECKS];
  const patterns = typeof selection === "string" ? [selection] : [...selection];
  const matchers = patterns.map((p) => ({ pattern: p, re: globToRegExp(p) }));
  for (const { pattern, re } of matchers) {
    if (!CHECKS.some((c) => re.test(c.id))) {
      throw new InvalidInputError(
        "conformance",
        `No check matches ${JSON.stringify(pattern)}. Use a check id or a glob such as "env.*"; known checks: ${CHECKS.map((c) => c.id).join(", ")}.`,
      );
    }
  }
  return CHECKS.filter((c) => matchers.some(({ re }) => re.test(c.id)));
}

/** A glob over check ids as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split("")
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}
