// publint --strict on a packed tarball, in-process (the same rules as the CLI, no extra startup).
import { readFile } from "node:fs/promises";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

/**
 * publint's findings for one tarball, strict: warnings count as errors, suggestions do not.
 * @param {import("./pack.mjs").PackedPackage} packed
 * @returns {Promise<string[]>} one line per finding
 */
export async function publintProblems(packed) {
  const data = await readFile(packed.tarball);
  const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const { messages, pkg } = await publint({ pack: { tarball }, strict: true, level: "warning" });
  return messages
    .filter((m) => m.type === "error" || m.type === "warning")
    .map(
      (m) =>
        `${packed.name}: publint ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`,
    );
}
