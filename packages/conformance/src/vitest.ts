import type { SecretBackend } from "@keyhole/core";
import { beforeAll, describe, it } from "vitest";
import { checkById } from "./catalogue.js";
import { verdictOf } from "./judge.js";
import { type PinnedVerdicts, pinnedDiff } from "./pinned.js";
import type { BackendReport, CheckResult, Report } from "./report.js";
import { runConformance } from "./run-conformance.js";
import { type CheckSelection, globToRegExp, selectChecks } from "./select.js";

/** Options of {@link describeConformance}. */
export interface DescribeConformanceOptions {
  /**
   * Checks to skip, each with the reason shown by the reporter, e.g.
   * `{ "rest.plaintext-on-host": "our engine keeps no state on this host" }`. A skipped check
   * is reported as skipped, never as passed. Unknown ids throw.
   */
  skip?: Readonly<Record<string, string>>;
  /**
   * Checks you expect to come out `unmeasurable` on this backend, each (id or glob) with your
   * reason, e.g. `{ "rest.*": "our store lives on a remote server; nothing on this host to scan" }`.
   * Such a result is reported as **skipped** with the suite's reason and yours, never as passed.
   * An `unmeasurable` result you did not declare fails its test: a check nobody could measure
   * must not look like one that held. A declared check that is measured after all is judged
   * as usual. A pattern that matches no check throws.
   */
  expectUnmeasurable?: Readonly<Record<string, string>>;
  /** Check ids or globs to register (default: the whole catalogue). */
  checks?: CheckSelection;
  /** The probe image (required for engines of kind `"other"`); see `ConformanceOptions.image`. */
  image?: string;
  /** Title of the describe block. Default `keyhole conformance`. */
  name?: string;
  /**
   * When `ready()` fails: `"fail"` (default) fails every test with the engine's message and fix
   * command; `"skip"` skips them with it (for machines without the engine).
   */
  onUnavailable?: "fail" | "skip";
  /** Time allowed for the whole pass (all checks run once, in `beforeAll`). Default 600 000 ms. */
  timeoutMs?: number;
  /**
   * Verdicts pinned per `"<backend id>@<engine version>"` (see `PinnedVerdicts`): adds a test
   * `pinned verdicts` that fails on any cell that differs from its pinned outcome, on a check
   * that is not pinned, and when no row exists for this backend and engine version (its
   * message prints the row to add once the verdicts are verified).
   */
  pinned?: PinnedVerdicts;
  /** Receives the report once the pass is done (write it to a file, print a matrix, …). */
  onReport?: (report: Report) => void;
}

/**
 * Registers one vitest test per conformance check, named by the check id, for the backend
 * `factory` makes. All checks run once in a `beforeAll` (sharing workloads, as
 * `runConformance` does; the backend is disposed at the end); each test then judges its
 * check's result. A test fails when the result contradicts the backend's declared
 * capabilities, breaks a keyhole invariant, is an `error`, or is `unmeasurable` without being
 * declared in `expectUnmeasurable` (declared ones are skipped with both reasons, never passed).
 * `exposed` alone never fails: it is a finding about the engine. Prints the pass's wall time and workload starts.
 *
 * Every selected check runs, whatever the engine kind, and each test judges exactly the result
 * `runConformance` reports for it (the factory is handed to it, so baselines are taken before
 * the backend is created). Checks keyhole cannot measure for this backend (e.g. those that ask
 * the engine's own CLI, for an engine of kind `"other"`) come out `unmeasurable` with a reason.
 *
 * @example
 * ```ts
 * // src/my-backend.conformance.test.ts
 * import { describeConformance } from "@keyhole/conformance/vitest";
 * import { myBackend } from "./index.js";
 *
 * describeConformance(() => myBackend(), {
 *   image: "localhost/my-probe:1",
 *   skip: { "limits.max-bytes": "our store has no size limit worth probing" },
 * });
 * ```
 */
export function describeConformance(
  factory: () => SecretBackend | Promise<SecretBackend>,
  options: DescribeConformanceOptions = {},
): void {
  const selected = selectChecks(options.checks);
  const skip = options.skip ?? {};
  for (const id of Object.keys(skip)) checkById(id);
  const expected = Object.entries(options.expectUnmeasurable ?? {}).map(([pattern, why]) => {
    selectChecks(pattern);
    return { re: globToRegExp(pattern), why };
  });
  const toRun = selected.filter((c) => !(c.id in skip));

  describe(options.name ?? "keyhole conformance", () => {
    let backendReport: BackendReport | undefined;
    let failure: unknown;

    beforeAll(async () => {
      if (toRun.length === 0) return;
      try {
        const report = await runConformance(factory, {
          checks: toRun.map((c) => c.id),
          ...(options.image ? { image: options.image } : {}),
        });
        backendReport = report.backends[0];
        if (backendReport) console.log(summaryLine(backendReport));
        options.onReport?.(report);
      } catch (error) {
        failure = error;
      }
    }, options.timeoutMs ?? 600_000);

    if (options.pinned) {
      const pinned = options.pinned;
      it("pinned verdicts", () => {
        if (failure) throw failure;
        if (!backendReport) throw new Error("The conformance pass produced no report.");
        if (!backendReport.available) {
          throw new Error(backendReport.unavailableReason ?? "ready() failed");
        }
        const diff = pinnedDiff(backendReport, pinned);
        if (diff.length > 0) throw new Error(diff.join("\n"));
      });
    }

    for (const def of selected) {
      it(def.id, async (ctx) => {
        const reason = skip[def.id];
        if (reason !== undefined) ctx.skip(reason);
        if (failure) throw failure;
        if (!backendReport) throw new Error("The conformance pass produced no report.");
        if (!backendReport.available) {
          const why = backendReport.unavailableReason ?? "ready() failed";
          if (options.onUnavailable === "skip") ctx.skip(why);
          throw new Error(why);
        }
        const result = backendReport.results.find((r) => r.check === def.id);
        if (!result) throw new Error(`No result for ${def.id}.`);
        await ctx.annotate(`${result.outcome}${result.observed ? `: ${result.observed}` : ""}`);
        const accepted = expected.find((e) => e.re.test(def.id));
        if (result.outcome === "unmeasurable" && accepted && !result.contradiction) {
          ctx.skip(
            `unmeasurable: ${result.reason ?? "no reason given"} (expected: ${accepted.why})`,
          );
        }
        const verdict = verdictOf(result);
        if (!verdict.pass) throw new Error(`${verdict.message}\n${evidenceText(result)}`);
      });
    }
  });
}

/** `[keyhole] podman-file: 30 checks in 21.4 s, 5 workload starts — 14 exposed, …`. */
export function summaryLine(b: BackendReport): string {
  if (!b.available) return `[keyhole] ${b.id}: unavailable — ${b.unavailableReason ?? ""}`;
  const counts = new Map<string, number>();
  for (const r of b.results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const tally = [...counts].map(([o, n]) => `${n} ${o}`).join(", ");
  return `[keyhole] ${b.id}: ${b.results.length} checks in ${(b.durationMs / 1000).toFixed(1)} s, ${b.workloadStarts} workload starts — ${tally}`;
}

function evidenceText(result: CheckResult): string {
  return (result.evidence ?? [])
    .map((e) => {
      const head = `  $ ${e.where}${e.user ? ` (user ${e.user})` : ""}: ${e.argv.join(" ").slice(0, 200)}`;
      const body = [
        e.note,
        e.exitCode !== undefined ? `exit ${e.exitCode}` : undefined,
        e.stdout,
        e.stderr,
      ]
        .filter((s) => s)
        .map((s) => `    ${String(s).slice(0, 400).replace(/\n/g, "\n    ")}`);
      return [head, ...body].join("\n");
    })
    .join("\n");
}
