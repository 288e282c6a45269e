export { colorEnabled } from "./ansi.js";
export { type Command, parseCommand } from "./args.js";
export { EXIT, type ExitCode, exitCodeForError, exitCodeForReport } from "./exit-codes.js";
export {
  buildMatrix,
  type CheckInfo,
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
export { UsageError } from "./usage-error.js";
