import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineConfig } from "vitest/config";

// One vitest project per workspace package; imports of @keyhole/* resolve to their sources
// (including subpath exports), so tests never depend on a stale dist/.
const root = import.meta.dirname;
const dirs = ["packages", "apps"].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => join(group, d)) : [],
);

const alias: Array<{ find: string | RegExp; replacement: string }> = [];
for (const dir of dirs) {
  const pkgPath = join(root, dir, "package.json");
  if (!existsSync(pkgPath)) continue;
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as {
    name: string;
    exports?: Record<string, unknown>;
  };
  for (const sub of Object.keys(pkg.exports ?? {})) {
    if (sub === "./package.json") continue;
    const rel = sub === "." ? "index" : sub.slice(2);
    const src = join(root, dir, "src", `${rel}.ts`);
    if (!existsSync(src)) continue;
    const spec = sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    alias.push({ find: new RegExp(`^${spec.replace(/[/.]/g, "\\$&")}$`), replacement: src });
  }
}

export default defineConfig({
  test: {
    projects: [
      ...dirs
        .filter((dir) => existsSync(join(root, dir, "package.json")))
        .map((dir) => ({
          resolve: { alias },
          test: {
            name: JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")).name as string,
            root: resolve(root, dir),
            include: ["src/**/*.test.ts", "test/**/*.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 300_000,
          },
        })),
      {
        resolve: { alias },
        test: {
          name: "scripts",
          root: resolve(root, "scripts"),
          include: ["**/*.test.{ts,mjs}"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
