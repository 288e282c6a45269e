import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the README example (examples/minimal.ts)", () => {
  it("runs against Podman and prints the file verdicts of fig. 5-1 and 5-4", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => {
      lines.push(line);
    });
    // A computed URL keeps the example out of this package's tsc program (it type-checks
    // against the sources through scripts/readme-examples.mjs).
    await import(new URL("../examples/minimal.ts", import.meta.url).href);
    expect(lines[0]).toMatch(
      /^file\.default-path-owner-mode: exposed \(root:root 0444 \/run\/secrets\/kh-file-\w+\)$/,
    );
    expect(lines[1]).toBe("file.other-uid-reads-default: exposed (uid 3000 reads it)");
    expect(lines[2]).toBe(
      "file.uid-gid-mode-honoured: protected (2000:2000 0400; uid 2000 reads; uid 3000 Permission denied)",
    );
    expect(lines[3]).toMatch(/^1 workload start\(s\), \d+ ms$/);
  });
});
