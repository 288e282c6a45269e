/** What an example printed. */
export interface ExampleOutput {
  /** Each `console.log` call (arguments joined by a space) and each line written to stdout. */
  lines: string[];
  /** Everything printed, in order. */
  text: string;
}

/**
 * Runs a package's README example the way a reader would — an ESM import of the file, against
 * the real engines — with `console.log` and `process.stdout` captured, and returns what it
 * printed. Every package's example test uses it, then asserts on the lines and asks the engine
 * (not the example) what was left behind. Name the file literally (`"examples/minimal.ts"`):
 * `scripts/readme-examples.mjs` looks for that text to know a test runs the example.
 *
 * @param testUrl the calling test's `import.meta.url` (the example is found relative to its
 *   package: `src/x.test.ts` → `../<file>`)
 * @param file the example, relative to the package folder
 * @example
 * ```ts
 * const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
 * expect(lines).toEqual(["alice reads 18 bytes"]);
 * ```
 */
export function runExample(testUrl: string, file: string): Promise<ExampleOutput>;
