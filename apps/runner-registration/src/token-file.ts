import { readFile, stat } from "node:fs/promises";
import { InvalidInputError } from "@keyhole/core";

/**
 * Reads a registration token from a file only its owner can read (mode 0600 or 0400, owned by
 * the user running this), the way a provisioning system drops it on a host. A file that group
 * or others could read is refused: the token would already have leaked. Trailing newlines are
 * removed. The token never passes through argv or the environment.
 *
 * @example
 * ```ts
 * const token = await readTokenFile("/etc/runner/registration-token");
 * ```
 */
export async function readTokenFile(path: string): Promise<string> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new InvalidInputError(
      "runner-registration",
      `Cannot read the token file ${JSON.stringify(path)} (${error.code}). Write the token to a file only you can read: install -m 0600 /dev/null FILE, then put the token in it.`,
    );
  });
  if (!info.isFile()) {
    throw new InvalidInputError(
      "runner-registration",
      `${JSON.stringify(path)} is not a file. Give the token file's path.`,
    );
  }
  if ((info.mode & 0o077) !== 0) {
    throw new InvalidInputError(
      "runner-registration",
      `The token file ${JSON.stringify(path)} has mode 0${(info.mode & 0o777).toString(8)}: group or others can read it. Run \`chmod 600 ${path}\` (and rotate the token if others may have read it).`,
    );
  }
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw new InvalidInputError(
      "runner-registration",
      `The token file ${JSON.stringify(path)} belongs to uid ${info.uid}, not to you (uid ${process.getuid()}). Run \`chown $(id -u) ${path}\`.`,
    );
  }
  const token = (await readFile(path, "utf8")).replace(/[\r\n]+$/, "");
  if (token.length === 0 || /[\0\r\n]/.test(token)) {
    throw new InvalidInputError(
      "runner-registration",
      `The token file ${JSON.stringify(path)} must hold one token on one line.`,
    );
  }
  return token;
}
