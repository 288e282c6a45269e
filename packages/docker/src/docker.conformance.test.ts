import { describeConformance } from "@keyhole/conformance/vitest";
import { dockerBackend } from "./index.js";

// The conformance catalogue against the plain Docker Engine baseline, one test per check
// (named by its id). A test fails when the baseline contradicts its declared capabilities,
// breaks a keyhole invariant, or a check errors; "exposed" alone is a finding, not a failure.
describeConformance(() => dockerBackend(), { name: "docker conformance" });
