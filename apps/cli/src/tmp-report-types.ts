// TEMPORARY: mirrors @keyhole/conformance's report schema until that package lands.
import type { Capabilities } from "@keyhole/core";

export type Outcome = "protected" | "exposed" | "unsupported" | "error";
export interface CheckResult {
  check: string;
  outcome: Outcome;
  observed?: string;
  evidence?: unknown;
  durationMs: number;
}
export interface BackendReport {
  id: string;
  available: boolean;
  unavailableReason?: string;
  engine: { name: string; version: string };
  capabilities: Capabilities;
  results: CheckResult[];
}
export interface Report {
  schemaVersion: 1;
  tool: { name: string; version: string };
  startedAt: string;
  durationMs: number;
  backends: BackendReport[];
}
export interface CheckDefinition {
  id: string;
  title: string;
  group: string;
  figure?: string;
}
