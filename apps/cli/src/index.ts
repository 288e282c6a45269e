export { colorEnabled } from "./ansi.js";
export { type Command, parseCommand } from "./args.js";
export { type CompareDeps, compareCommand } from "./compare-command.js";
export { diffCommand } from "./diff-command.js";
export { doctorCommand, formatDiagnoses } from "./doctor-command.js";
export {
  EXIT,
  type ExitCode,
  exitCodeForDiff,
  exitCodeForError,
  exitCodeForReport,
} from "./exit-codes.js";
export { GC_ENGINES, type GcEngine, type GcObject, gcCommand } from "./gc-command.js";
export { type CliIO, type OutStream, processIO } from "./io.js";
export { main, VERSION } from "./main.js";
export {
  buildMatrix,
  type CheckInfo,
  checkInfos,
  contradictions,
  evidenceText,
  GROUPS,
  type Matrix,
  type MatrixColumn,
  type MatrixGroup,
  type MatrixRow,
  OUTCOME_TEXT,
  OUTCOMES,
  type UnavailableBackend,
} from "./matrix.js";
export {
  createProgress,
  type Progress,
  type ProgressEvent,
  type ProgressStream,
} from "./progress.js";
export { READABLE_SCHEMA_VERSIONS, readReportFile } from "./read-report.js";
export { FORMATS, type Format, formatForFile, render } from "./render.js";
export {
  columnText,
  DIFF_FORMATS,
  DIFF_SCHEMA_VERSION,
  type DiffFormat,
  type DiffSide,
  renderDiff,
  summaryLine,
  verdictLine,
} from "./render-diff.js";
export { type HtmlOptions, renderHtml } from "./render-html.js";
export { renderJson } from "./render-json.js";
export { type MarkdownOptions, renderMarkdown } from "./render-markdown.js";
export { renderTable, type TableOptions } from "./render-table.js";
export {
  anyWorse,
  classifyChange,
  type DiffableBackend,
  type DiffableReport,
  type DiffColumn,
  diffReports,
  engineLabel,
  type ReportDiff,
  type VerdictChange,
  type VerdictChangeKind,
} from "./report-diff.js";
export { globMatcher, selectBackends, selectChecks } from "./select.js";
export {
  type BackendStrategy,
  type Diagnosis,
  diagnose,
  type HostView,
  type NotHere,
  REAL_HOST,
  STRATEGIES,
} from "./strategies.js";
export { UsageError } from "./usage-error.js";
