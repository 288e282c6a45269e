import { describe, expect, it } from "vitest";
import { runExample } from "../../../scripts/test-support/run-example.js";

describe("the README example (examples/minimal.ts)", () => {
  it("runs against Podman and prints the file verdicts of fig. 5-1 and 5-4", async () => {
    const { lines } = await runExample(import.meta.url, "examples/minimal.ts");
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
