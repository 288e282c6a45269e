// Config of the child vitest run by src/liars.integration.test.ts: only the liars suite,
// with @keyhole/* resolved to sources as in the root config.
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

const packages = resolve(import.meta.dirname, "../..");
const alias = [
  ["@keyhole/conformance/vitest", "conformance/src/vitest.ts"],
  ["@keyhole/conformance", "conformance/src/index.ts"],
  ["@keyhole/core", "core/src/index.ts"],
  ["@keyhole/probe", "probe/src/index.ts"],
  ["@keyhole/podman", "podman/src/index.ts"],
].map(([name, path]) => ({
  find: new RegExp(`^${name!.replace(/[/.]/g, "\\$&")}$`),
  replacement: resolve(packages, path!),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    root: resolve(import.meta.dirname, ".."),
    include: ["test/liars.suite.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
