/** `keyhole --help`. */
export const HELP = `keyhole: who inside a container can read the secret you handed it?

Usage:
  keyhole compare [options]   run the conformance checks on every engine here and compare them
  keyhole diff BEFORE.json AFTER.json [--format table|markdown|json]
                              print the verdicts that changed between two JSON reports;
                              exit 4 when any got worse (a check went to EXPOSED)
  keyhole doctor              say, per backend, whether it is ready, missing or broken, and the fix
  keyhole gc [--dry-run] [--run ID]
                              remove every object labelled keyhole (secrets, containers,
                              services) on every engine, or only those of one run
  keyhole --version           print the version
  keyhole --help              print this help (also: keyhole <command> --help)

compare options:
  --backend ID,...   only these backends (podman-file, podman-pass, docker-swarm,
                     docker-swarm-cluster, docker, compose-file, compose-env)
  --no-cluster       leave out docker-swarm-cluster (the multi-node swarm column; it needs
                     \`node scripts/cluster.mjs up\` first, which \`npm run compare\` does)
  --check GLOB,...   only checks whose id matches, e.g. 'file.*' or 'env.*,limits.max-bytes'
  --format FORMAT    table (default), markdown, json or html
  --out FILE         write the report (in --format, or implied by .html/.md/.json) to FILE;
                     the table still goes to the terminal
  --no-color         no colours (NO_COLOR is honoured too)
  --quiet            no progress and no table; errors and --format output only
  --baseline FILE    then diff the new report against FILE (a JSON report), like
                     \`keyhole diff FILE <new report>\`; exit 4 when a verdict got worse
  --engines WHICH    all (default): the host's engines and every provisioned engine set (the
                     other Debian release's, node scripts/engine-set.mjs up) side by side; host:
                     the host's only; or one set by name (trixie, bookworm). Verdicts that
                     differ between engine generations of one backend are listed (and in JSON
                     as generationDifferences)

Exit codes:
  0  the comparison ran (findings such as EXPOSED are not failures)
  1  a check errored or was unmeasurable, or a backend contradicted its declared capabilities
  2  bad usage
  3  no backend available (run \`keyhole doctor\` for the fix)
  4  diff / --baseline: a verdict got worse (a check is EXPOSED that was not)
     (diff exits 1 when a verdict could not be measured in the second report)
`;
