export {
  type BooleanCapability,
  CHECKS,
  type CheckDefinition,
  type CheckGroup,
  type CheckPhase,
  catalogue,
  checkById,
  type EngineNeed,
} from "./catalogue.js";
export {
  type Gate,
  judge,
  type Measurement,
  missingCapabilities,
  type Verdict,
  verdictOf,
} from "./judge.js";
export {
  type RaceReadOnceOptions,
  type RaceReadOnceResult,
  raceReadOnce,
} from "./once-race.js";
export { type PinnedVerdicts, pinKey, pinnedDiff, pinRow } from "./pinned.js";
export { type ProcHit, ProcScanner } from "./proc-scan.js";
export { Redactor, valueForms } from "./redaction.js";
export {
  type BackendReport,
  type CheckResult,
  type Evidence,
  type HostProbeCounts,
  OUTCOMES,
  type Outcome,
  type Report,
  SCHEMA_VERSION,
  type WorkloadRecord,
} from "./report.js";
export {
  type ConformanceOptions,
  type ProgressEvent,
  runComparison,
  runConformance,
  TOOL_VERSION,
} from "./run-conformance.js";
export { type CheckSelection, globToRegExp, selectChecks } from "./select.js";
