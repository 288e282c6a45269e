// Run by src/broken-backend.integration.test.ts in a child vitest (not collected by the normal
// run: its name does not end in .test.ts). It must FAIL on exactly the checks the lies touch.
import { writeFileSync } from "node:fs";
import { podmanFileBackend } from "@keyhole/podman";
import { lyingBackend } from "../src/test-lying-backend.js";
import { describeConformance } from "../src/vitest.js";

describeConformance(() => lyingBackend(podmanFileBackend()), {
  name: "lying podman-file",
  checks: [
    "env.*",
    "file.default-path-owner-mode",
    "file.other-uid-reads-default",
    "file.uid-gid-mode-honoured",
    "file.env-unaffected",
  ],
  skip: { "file.other-uid-reads-default": "skipped on purpose: a skip must show as a skip" },
  onReport: (report) => {
    const out = process.env.KH_BROKEN_REPORT;
    if (out) writeFileSync(out, JSON.stringify(report));
  },
});
