export { colorEnabled } from "./ansi.js";
export { type Command, parseCommand } from "./args.js";
export { type CompareDeps, compareCommand } from "./compare-command.js";
export { doctorCommand, formatDiagnoses } from "./doctor-command.js";
export { EXIT, type ExitCode, exitCodeForError, exitCodeForReport } from "./exit-codes.js";
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
export { FORMATS, type Format, formatForFile, render } from "./render.js";
export { type HtmlOptions, renderHtml } from "./render-html.js";
export { renderJson } from "./render-json.js";
export { type MarkdownOptions, renderMarkdown } from "./render-markdown.js";
export { renderTable, type TableOptions } from "./render-table.js";
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
