// Are the types wrong? on a packed tarball, with the "esm-only" profile: keyhole ships no
// CommonJS, so the node10 and node16-from-CJS resolutions are not judged (same as
// `attw --profile esm-only`). In-process, so TypeScript loads once for all packages.
import { readFile } from "node:fs/promises";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { problemKindInfo } from "@arethetypeswrong/core/problems";

/** Resolutions an ESM-only package is not judged on (attw's "esm-only" profile). */
export const ESM_ONLY_IGNORED_RESOLUTIONS = ["node10", "node16-cjs"];

/**
 * The type problems of one tarball that an ESM consumer (node16 ESM, bundler) would hit.
 * @param {import("./pack.mjs").PackedPackage} packed
 * @returns {Promise<string[]>} one line per problem
 */
export async function typeProblems(packed) {
  const data = new Uint8Array(await readFile(packed.tarball));
  const analysis = await checkPackage(createPackageFromTarballData(data));
  if (!analysis.types) {
    return [
      `${packed.name}: ships no type declarations; build with "declaration": true and export "types" first`,
    ];
  }
  return analysis.problems
    .filter(
      (p) => !("resolutionKind" in p) || !ESM_ONLY_IGNORED_RESOLUTIONS.includes(p.resolutionKind),
    )
    .map((p) => {
      const info = problemKindInfo[p.kind];
      const where = [
        "entrypoint" in p ? p.entrypoint : undefined,
        "resolutionKind" in p ? p.resolutionKind : undefined,
      ]
        .filter(Boolean)
        .join(", ");
      return `${packed.name}: are-the-types-wrong ${p.kind}${where ? ` (${where})` : ""}: ${info?.description ?? ""} ${info?.docsUrl ?? ""}`.trim();
    });
}
