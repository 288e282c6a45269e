import { describeConformance } from "@keyhole/conformance/vitest";
import { dockerSwarmBackend } from "./index.js";

// The conformance catalogue against Swarm secrets, one test per check (named by its id). A
// test fails when Swarm's behaviour contradicts the declared capabilities, breaks a keyhole
// invariant, or a check errors; "exposed" alone is a finding, not a failure.
describeConformance(() => dockerSwarmBackend(), { name: "docker-swarm conformance" });
