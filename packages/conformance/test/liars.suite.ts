// Run by src/liars.integration.test.ts in a child vitest (not collected by the normal run: its
// name does not end in .test.ts). Every liar's describe block must FAIL (at least the checks
// its lie touches); the parent asserts that from the JSON reporter's output.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "vitest";
import { liars } from "../src/test-liars.js";
import { describeConformance } from "../src/vitest.js";

const all = liars();
afterAll(async () => {
  for (const liar of all) await liar.cleanup();
});

for (const liar of all) {
  describeConformance(() => liar.make(), {
    name: `liar ${liar.name}`,
    checks: liar.checks,
    onReport: (report) => {
      const dir = process.env.KH_LIARS_OUT;
      if (dir) writeFileSync(join(dir, `${liar.name}.json`), JSON.stringify(report));
    },
  });
}
