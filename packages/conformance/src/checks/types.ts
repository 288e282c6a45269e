import type { CheckDefinition } from "../catalogue.js";
import type { FixtureId, FixtureState } from "../fixtures.js";
import type { Measurement } from "../judge.js";
import type { PartResult, Pass, ProbeUser } from "../pass.js";

/** What an imperative probe gets: the pass and its own definition. */
export interface CheckContext {
  pass: Pass;
  def: CheckDefinition;
}

/** One part of a batched probe: a script run as one of the probe image's users. */
export type Part = readonly [user: ProbeUser, body: string];

/**
 * What one part printed: its `key=value` lines, its raw output, and `problem` when it did not
 * run to its end as its user (the runner turns that into `error` before `interpret` sees it).
 */
export type PartOutput = PartResult;

/**
 * A check that drives its own probes (exec as a given engine user, host commands, mutations).
 * The runner starts `fixtures[0]` first; its gate decides whether the probe runs at all (see
 * `judge`). Further fixtures are optional extras the probe may use.
 */
export interface MeasureImpl {
  fixtures: FixtureId[];
  measure(ctx: CheckContext, states: FixtureState[]): Promise<Measurement>;
}

/**
 * A read-only check whose probe is a few scripts (each as root, alice or bob). The runner runs
 * the parts of every batched check on the same workload in **one** exec session (one engine
 * round trip instead of one per check), then lets each check interpret its own parts.
 */
export interface BatchImpl {
  fixtures: FixtureId[];
  /** What the parts show, for the evidence. */
  note: string;
  parts(states: FixtureState[]): Part[];
  interpret(outputs: PartOutput[], states: FixtureState[], pass: Pass): Measurement;
}

/** How a check measures. */
export type CheckImpl = MeasureImpl | BatchImpl;

/** True for checks the runner batches. */
export function isBatch(impl: CheckImpl): impl is BatchImpl {
  return "parts" in impl;
}
