import { readFileSync } from "node:fs";
import type { PinnedVerdicts } from "@keyhole/conformance";
import { describeConformance } from "@keyhole/conformance/vitest";
import { dockerSwarmBackend } from "./index.js";

// The conformance catalogue against Swarm secrets, one test per check (named by its id). A
// test fails when Swarm's behaviour contradicts the declared capabilities, breaks a keyhole
// invariant, or a check errors; "exposed" alone is a finding, not a failure.
// Verdicts pinned per backend and engine version: an unexplained change in any cell fails.
const pinned = JSON.parse(
  readFileSync(new URL("../../conformance/src/pinned-verdicts.json", import.meta.url), "utf8"),
) as PinnedVerdicts;

describeConformance(() => dockerSwarmBackend(), { name: "docker-swarm conformance", pinned });
