import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { EngineUnavailableError } from "@keyhole/core";

const run = promisify(execFile);

/** A GnuPG home, key and password store that the `pass` secret driver encrypts with. */
export interface PassStore {
  /** The GnuPG home directory (`GNUPGHOME`, driver option `gpghomedir`). */
  readonly gpgHome: string;
  /** The password store directory (`PASSWORD_STORE_DIR`, driver option `root`). */
  readonly storeDir: string;
  /** The key id or fingerprint secrets are encrypted to (driver option `key`). */
  readonly key: string;
}

const GNUPG_FIX = "apt-get install gnupg pass (in the keyhole repository: node scripts/setup.mjs)";

/**
 * Creates a throwaway GnuPG home with a fresh passphrase-less key and a password store
 * initialised for it, under `dir` (which keyhole owns, mode 0700). Never touches
 * `~/.gnupg` or `~/.password-store`: every gpg/pass call gets the throwaway paths.
 */
export async function createThrowawayPassStore(
  backendId: string,
  dir: string,
  runId: string,
): Promise<PassStore> {
  const gpgHome = join(dir, "gnupg");
  const storeDir = join(dir, "store");
  await mkdir(gpgHome, { mode: 0o700 });
  await mkdir(storeDir, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gpgHome, PASSWORD_STORE_DIR: storeDir };
  const uid = `keyhole-${runId} <keyhole-${runId}@keyhole.invalid>`;
  let key: string | undefined;
  try {
    // future-default = ed25519/cv25519: generated in milliseconds, unlike the RSA default.
    // `--status-fd 1` prints `KEY_CREATED <type> <fingerprint>`: no second gpg call to list it.
    const { stdout } = await run(
      "gpg",
      [
        "--batch",
        "--status-fd",
        "1",
        "--passphrase",
        "",
        "--quick-gen-key",
        uid,
        "future-default",
        "default",
        "never",
      ],
      { env },
    );
    key = /^\[GNUPG:\] KEY_CREATED \S+ ([0-9A-F]{40})$/m.exec(stdout)?.[1];
  } catch (error) {
    throw new EngineUnavailableError(
      backendId,
      `Could not create a throwaway GnuPG key for the pass driver (${describe(error)}).`,
      GNUPG_FIX,
      { cause: error },
    );
  }
  if (!key) {
    throw new EngineUnavailableError(
      backendId,
      "The throwaway GnuPG key was generated but gpg did not report its fingerprint.",
      GNUPG_FIX,
    );
  }
  // What `pass init <key>` does for a new, empty store (the driver reads only `.gpg-id`;
  // containers/common's passdriver calls gpg itself), without a bash script and its gpg calls.
  await writeFile(join(storeDir, ".gpg-id"), `${key}\n`, { mode: 0o600 });
  return { gpgHome, storeDir, key };
}

/**
 * Reads the key of an existing store from its `.gpg-id` (what `pass init` wrote), for a
 * caller-supplied store without an explicit key.
 */
export async function readStoreKey(storeDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(storeDir, ".gpg-id"), "utf8")).split("\n")[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Stops the gpg-agent gpg started for `gpgHome`, so its directory can be removed. */
export async function stopGpgAgent(gpgHome: string): Promise<void> {
  try {
    await run("gpgconf", ["--homedir", gpgHome, "--kill", "gpg-agent"]);
  } catch {
    // No agent running, or gpgconf missing: nothing to stop.
  }
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === "ENOENT") return "gpg is not installed";
  return (e.stderr?.trim().split("\n").pop() ?? e.message ?? String(error)).slice(0, 300);
}
