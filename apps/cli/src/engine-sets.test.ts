import type { BackendReport, Report } from "@keyhole/conformance";
import type { EngineSet } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { parseCommand } from "./args.js";
import { selectEngineSets } from "./engine-sets.js";
import { generationDifferences, generationLines } from "./generations.js";

const trixie: EngineSet = { name: "trixie" };

function column(
  version: string,
  outcomes: Record<string, BackendReport["results"][number]["outcome"]>,
): BackendReport {
  return {
    id: "podman-file",
    available: true,
    engine: { name: "podman", version },
    capabilities: {} as BackendReport["capabilities"],
    results: Object.entries(outcomes).map(([check, outcome]) => ({
      check,
      outcome,
      durationMs: 1,
    })),
    workloadStarts: 1,
    workloads: [],
    durationMs: 1,
  };
}

describe("engine generations side by side", () => {
  it("selects all sets by default, the host's only, or one set by name", () => {
    expect(selectEngineSets("all", [trixie])).toEqual({ host: true, sets: [trixie] });
    expect(selectEngineSets("host", [trixie])).toEqual({ host: true, sets: [] });
    expect(selectEngineSets("trixie", [trixie])).toEqual({ host: false, sets: [trixie] });
    expect(selectEngineSets("bookworm", [trixie])).toEqual({ host: false, sets: [] });
    expect(parseCommand(["compare", "--engines", "host"])).toMatchObject({ engines: "host" });
    expect(() => parseCommand(["compare", "--engines", "Host!"])).toThrow(
      /--engines needs all, host/,
    );
  });

  it("records where the same backend's verdict differs between engine versions, and only there", () => {
    const report = {
      backends: [
        column("4.3.1", {
          "env.engine-inspect-shows": "exposed",
          "file.delete-refused": "protected",
        }),
        column("5.4.2", {
          "env.engine-inspect-shows": "protected",
          "file.delete-refused": "protected",
        }),
        { ...column("26.1.5", { "env.engine-inspect-shows": "exposed" }), id: "docker" },
      ],
    } as unknown as Report;
    const diffs = generationDifferences(report);
    expect(diffs).toEqual([
      {
        backend: "podman-file",
        check: "env.engine-inspect-shows",
        outcomes: [
          { engine: "podman 4.3.1", outcome: "exposed" },
          { engine: "podman 5.4.2", outcome: "protected" },
        ],
      },
    ]);
    expect(generationLines(diffs)).toEqual([
      "podman-file env.engine-inspect-shows: podman 4.3.1 EXPOSED vs podman 5.4.2 protected",
    ]);
    expect(generationDifferences({ backends: [report.backends[0]!] } as Report)).toEqual([]);
  });
});
