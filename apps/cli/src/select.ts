import { UsageError } from "./usage-error.js";

/**
 * Turns a check glob (`*` = any run of characters, `?` = one) into a whole-string matcher.
 *
 * @example
 * ```ts
 * globMatcher("file.*")("file.delete-refused"); // true
 * ```
 */
export function globMatcher(glob: string): (id: string) => boolean {
  const source = glob
    .split("")
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const re = new RegExp(`^${source}$`);
  return (id) => re.test(id);
}

/**
 * The ids of `all` that match any of `globs` (every id when `globs` is undefined), in catalogue
 * order. A glob that matches nothing is a usage error listing the ids there are.
 */
export function selectChecks(
  all: readonly string[],
  globs: readonly string[] | undefined,
): string[] {
  if (globs === undefined) return [...all];
  for (const g of globs) {
    if (!all.some(globMatcher(g))) {
      throw new UsageError(
        `--check ${JSON.stringify(g)} matches no check. Use a glob over these ids, e.g. --check 'file.*': ${all.join(", ")}.`,
      );
    }
  }
  const matchers = globs.map(globMatcher);
  return all.filter((id) => matchers.some((m) => m(id)));
}

/** Checks that every id in `wanted` is one of `known`; a typo is a usage error naming the known ids. */
export function selectBackends(
  known: readonly string[],
  wanted: readonly string[] | undefined,
): string[] {
  if (wanted === undefined) return [...known];
  for (const id of wanted) {
    if (!known.includes(id)) {
      throw new UsageError(
        `Unknown backend ${JSON.stringify(id)}. Use --backend with one or more of: ${known.join(", ")} (e.g. --backend podman-file,docker).`,
      );
    }
  }
  return known.filter((id) => wanted.includes(id));
}
