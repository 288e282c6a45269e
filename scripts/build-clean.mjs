// Removes the package's dist/ before a build so files of deleted sources never ship.
import { rmSync } from "node:fs";
import { resolve } from "node:path";

rmSync(resolve(process.cwd(), "dist"), { recursive: true, force: true });
