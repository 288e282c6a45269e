// Who inside a container can read a secret Podman delivered as a file? Ask the suite: it starts
// one probe container and looks as root, alice (uid 2000) and bob (uid 3000).
import { runConformance } from "@keyhole/conformance";
import { podmanFileBackend } from "@keyhole/podman";

const report = await runConformance(podmanFileBackend(), {
  checks: [
    "file.default-path-owner-mode",
    "file.other-uid-reads-default",
    "file.uid-gid-mode-honoured",
  ],
});
const podman = report.backends[0]!;
for (const r of podman.results) console.log(`${r.check}: ${r.outcome} (${r.observed ?? r.reason})`);
console.log(`${podman.workloadStarts} workload start(s), ${report.durationMs} ms`);
