import { colorEnabled } from "./ansi.js";
import type { Command } from "./args.js";
import { type ExitCode, exitCodeForDiff } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { readReportFile } from "./read-report.js";
import { renderDiff } from "./render-diff.js";
import { diffReports } from "./report-diff.js";

/**
 * `keyhole diff BEFORE.json AFTER.json`: prints the verdicts that changed between two JSON
 * reports in `--format` and exits 4 when any got worse (a check went to `exposed`), 1 when a
 * verdict could not be measured in the second report, else 0. Bad input exits 2 (see
 * `readReportFile`). Touches no engine.
 */
export function diffCommand(cmd: Extract<Command, { command: "diff" }>, io: CliIO): ExitCode {
  const before = readReportFile(cmd.before, io.cwd);
  const after = readReportFile(cmd.after, io.cwd);
  const diff = diffReports(before, after);
  const color = colorEnabled({
    noColorFlag: cmd.noColor,
    env: io.env,
    isTTY: io.stdout.isTTY === true,
  });
  io.stdout.write(
    renderDiff(
      cmd.format,
      diff,
      { file: cmd.before, report: before },
      { file: cmd.after, report: after },
      { color },
    ),
  );
  return exitCodeForDiff(diff);
}
