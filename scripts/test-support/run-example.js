// Test helper shared by every package's README example test (see run-example.d.ts for the
// documented signature). Plain JS with a declaration file, so packages whose tsconfig has
// `rootDir: "src"` can import it from their tests.
import { vi } from "vitest";

/**
 * @param {string} testUrl
 * @param {string} file
 * @returns {Promise<{ lines: string[]; text: string }>}
 */
export async function runExample(testUrl, file) {
  /** @type {string[]} */
  const chunks = [];
  const log = vi.spyOn(console, "log").mockImplementation((...args) => {
    chunks.push(`${args.join(" ")}\n`);
  });
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    // A computed URL keeps the example out of the package's tsc program (whose rootDir is
    // src/); vitest transforms and loads it as usual.
    await import(new URL(`../${file}`, testUrl).href);
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  const text = chunks.join("");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return { lines, text };
}
