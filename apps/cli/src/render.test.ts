import { registerSecretValue } from "@keyhole/core";
import { describe, expect, it } from "vitest";
import { stripAnsi } from "./ansi.js";
import { buildMatrix } from "./matrix.js";
import { render } from "./render.js";
import { renderHtml } from "./render-html.js";
import { renderJson } from "./render-json.js";
import { renderMarkdown } from "./render-markdown.js";
import { renderTable } from "./render-table.js";
import { FAKE_CHECKS, fakeReport } from "./test-report.js";

const checks = FAKE_CHECKS;

describe("an unmeasurable cell", () => {
  const report = () => {
    const r = fakeReport();
    const results = r.backends[0]!.results.filter((x) => x.check !== "rest.plaintext-on-host");
    results.push({
      check: "rest.plaintext-on-host",
      outcome: "unmeasurable",
      reason: "no host path of this engine's storage is known",
      durationMs: 0,
    });
    r.backends[0]!.results = results;
    return r;
  };
  it("is counted, shown and explained by every renderer, never as protected", () => {
    expect(buildMatrix(report(), checks).totals.unmeasurable).toBe(1);
    const table = stripAnsi(renderTable(report(), { checks }));
    expect(table).toContain("1 unmeasurable");
    expect(table).toContain("unmeasurable: no host path of this engine's storage is known");
    const md = renderMarkdown(report(), { checks });
    expect(md).toContain("❔ **unmeasurable**");
    expect(md).toContain("unmeasurable: no host path of this engine's storage is known");
    const html = renderHtml(report(), { checks });
    expect(html).toContain('class="swatch unmeasurable"');
    expect(JSON.parse(renderJson(report())).schemaVersion).toBe(2);
  });
});

describe("buildMatrix", () => {
  it("groups rows env / file / at rest / limits / hygiene, columns = available backends", () => {
    const m = buildMatrix(fakeReport(), checks);
    expect(m.columns.map((c) => c.id)).toEqual(["podman-file", "docker-swarm"]);
    expect(m.groups.map((g) => g.key)).toEqual(["env", "file", "rest", "limits", "hygiene"]);
    expect(m.groups[0]?.rows.map((r) => r.check.id)).toEqual([
      "env.child-inherits",
      "env.other-uid-sees",
    ]);
    // A check the catalogue does not know still gets a row (nothing in a report is dropped).
    expect(m.groups[4]?.rows[0]?.check).toEqual({ id: "hygiene.host-argv-clean", title: "" });
    // docker-swarm did not run env.other-uid-sees: an empty cell, not a made-up outcome.
    expect(m.groups[0]?.rows[1]?.cells[1]).toBeUndefined();
    expect(m.totals).toEqual({
      protected: 4,
      exposed: 3,
      unsupported: 2,
      unmeasurable: 0,
      error: 1,
    });
    expect(m.unavailable).toEqual([
      { id: "docker", reason: "[keyhole] [docker] dockerd is not running. Fix: dockerd &" },
    ]);
  });
});

describe("renderTable", () => {
  it("shows one column per backend that ran, a cell per check, totals and the unavailable backend's fix", () => {
    const text = renderTable(fakeReport(), { checks });
    const lines = text.split("\n");
    const header = lines.find((l) => l.includes("podman-file"));
    expect(header?.trim().split(/\s+/)).toEqual(["podman-file", "docker-swarm"]);
    const row = lines.find((l) => l.includes("env.child-inherits"));
    expect(row?.trim().split(/\s+/)).toEqual([
      "env.child-inherits",
      "fig.",
      "4-2",
      "EXPOSED",
      "unsupported",
    ]);
    const scrub = lines.find((l) => l.includes("file.scrub-after-use"));
    expect(scrub?.trim().split(/\s+/).slice(-2)).toEqual(["protected", "unsupported"]);
    const other = lines.find((l) => l.includes("env.other-uid-sees"));
    expect(other?.trim().split(/\s+/).slice(-2)).toEqual(["EXPOSED", "-"]);
    expect(lines.indexOf("Environment variables")).toBeLessThan(lines.indexOf("Files"));
    expect(lines.indexOf("Files")).toBeLessThan(lines.indexOf("At rest"));
    expect(text).toContain("4 protected · 3 EXPOSED · 2 unsupported · 0 unmeasurable · 1 error");
    expect(text).toContain("podman-file limits.max-bytes: EngineError: boom");
    expect(text).toContain("podman-file: 7 workloads, 9.1 s · docker-swarm: 3 workloads, 4.0 s");
    expect(text).toContain(
      "docker not run: [keyhole] [docker] dockerd is not running. Fix: dockerd &",
    );
    expect(text).not.toContain("\u001b[");
  });

  it("colours cells only when asked, and the columns still line up", () => {
    const plain = renderTable(fakeReport(), { checks });
    const coloured = renderTable(fakeReport(), { checks, color: true });
    expect(coloured).toContain("\u001b[31m");
    expect(stripAnsi(coloured)).toBe(plain);
  });

  it("says so when no backend ran", () => {
    const r = fakeReport();
    r.backends = r.backends.filter((b) => !b.available);
    const text = renderTable(r, { checks });
    expect(text).toContain("No backend ran.");
    expect(text).toContain("docker not run:");
  });
});

describe("renderMarkdown", () => {
  it("renders one pasteable table per group with the seed figure and escaped cells", () => {
    const md = renderMarkdown(fakeReport(), { checks });
    expect(md).toContain("### Environment variables");
    expect(md).toContain("| check | seed | `podman-file` | `docker-swarm` |");
    expect(md).toContain(
      "| `env.child-inherits`<br>A child process sees the variable | fig. 4-2 | ❌ **EXPOSED**<br><sub>child sees KH_SECRET</sub> | ➖ unsupported<br><sub>UNSUPPORTED_DELIVERY</sub> |",
    );
    // A pipe or tag inside a value must not break the table or inject HTML.
    expect(md).toContain("<sub>scrubbed \\| zeros &lt;b&gt;</sub>");
    expect(md).toContain(
      "| `env.other-uid-sees`<br>A process of another uid sees it | fig. 4-5 | ❌ **EXPOSED** | — |",
    );
    expect(md).toContain(
      "- `docker`: [keyhole] [docker] dockerd is not running. Fix: dockerd &amp;",
    );
    // Every table row has the same number of columns as its header.
    for (const line of md.split("\n").filter((l) => l.startsWith("| "))) {
      expect(line.replace(/\\\|/g, "").split("|").length).toBe(6);
    }
  });
});

describe("renderJson", () => {
  it("is exactly the suite's report", () => {
    const report = fakeReport();
    expect(JSON.parse(renderJson(report))).toEqual(report);
  });
});

describe("renderHtml", () => {
  const html = renderHtml(fakeReport(), { checks });

  it("is one self-contained file: no external URL, inline style and script, a CSP forbidding fetches", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("<style>");
    expect(html).toContain("<script>");
  });

  it("has the matrix, the legend, the seed figure and one evidence dialog per cell", () => {
    expect(html).toContain('<table id="matrix"');
    expect(html).toContain('<td class="fig">fig. 4-2</td>');
    expect(html).toContain('class="swatch exposed">EXPOSED</span>');
    expect(html.match(/<dialog /g)?.length).toBe(10);
    expect(html.match(/data-open="ev-/g)?.length).toBe(10);
    expect(html).toContain(
      "[container as uid 3000] $ cat /run/secrets/s\nexit code 1\nstderr:\n  cat: can&#39;t open &#39;/run/secrets/s&#39;: Permission denied\nnote: bob is denied",
    );
    expect(html).toContain(
      "[container as uid 0] $ sh -c &#39;sh -c &#39;\\&#39;&#39;echo $KH_SECRET&#39;\\&#39;&#39;&#39;",
    );
    expect(html).toContain("scrubbed | zeros &lt;b&gt;");
    expect(html).toContain("dockerd is not running. Fix: dockerd &amp;");
  });
});

describe("a result that contradicts the declared capabilities", () => {
  it("is marked in every human format and listed with its sentence", () => {
    const report = fakeReport();
    report.backends[1]!.results[1]!.contradiction =
      "declares fileMode but bob read a 0400 file of uid 2000";
    const table = renderTable(report, { checks });
    const row = table.split("\n").find((l) => l.includes("file.uid-gid-mode-honoured"));
    expect(row?.trim().split(/\s+/).slice(-2)).toEqual(["protected", "protected!"]);
    expect(table).toContain(
      "Contradicts the backend's declared capabilities (!):\n  docker-swarm file.uid-gid-mode-honoured: declares fileMode but bob read a 0400 file of uid 2000",
    );
    const md = renderMarkdown(report, { checks });
    expect(md).toContain("| ✅ protected ⛔ |");
    expect(md).toContain(
      "- docker-swarm file.uid-gid-mode-honoured: declares fileMode but bob read a 0400 file of uid 2000",
    );
    const html = renderHtml(report, { checks });
    expect(html).toContain('<td class="cell protected contradiction" data-backend="docker-swarm"');
    expect(html).toContain(
      '<dd class="contradiction">declares fileMode but bob read a 0400 file of uid 2000</dd>',
    );
  });
});

describe("no secret value reaches any output", () => {
  it("redacts a registered value that slipped into observed or evidence", () => {
    const secret = "glrt-super-secret-token-123";
    const unregister = registerSecretValue(secret);
    try {
      const report = fakeReport();
      const first = report.backends[0]!;
      first.results[0] = {
        ...first.results[0]!,
        observed: `value=${secret}`,
        reason: `it was ${secret}`,
        contradiction: `declared protected but saw ${secret}`,
        evidence: [{ where: "host", argv: ["cat", "x"], stdout: `${secret}\n` }],
      };
      for (const format of ["table", "markdown", "json", "html"] as const) {
        const out = render(format, report, { checks, color: true });
        expect(out, format).not.toContain(secret);
        expect(out, format).not.toContain(Buffer.from(secret).toString("base64"));
      }
      expect(render("markdown", report, { checks })).toContain("value=[REDACTED]");
    } finally {
      unregister();
    }
  });
});
