import { InvalidInputError, type SecretBackend } from "@keyhole/core";
import {
  PodmanBackend,
  type PodmanBackendOptions,
  type PodmanPassBackendOptions,
} from "./podman-backend.js";

/**
 * A backend on Podman secrets with the `file` driver: values are stored base64-encoded,
 * **unencrypted**, under Podman's graphroot (`secrets/filedriver/secretsdata.json`).
 *
 * Talks to Podman's libpod REST API over a unix socket. Unless `socketPath` is given, it
 * starts a `podman system service` on a private socket on first use (with `CONTAINERS_CONF`
 * from `podmanEnv()`), shared with the other Podman backends of the process (a file and a
 * pass backend pay for one service start), and stopped by the last `dispose()`.
 *
 * @example
 * ```ts
 * import { ensureProbeImage } from "@keyhole/probe";
 * await using backend = podmanFileBackend();
 * const token = await backend.createSecret("runner-token", "s3cr3t");
 * const w = await backend.run({
 *   image: await ensureProbeImage("podman"),
 *   command: ["sleep", "3600"],
 *   capDrop: ["DAC_OVERRIDE"],
 *   secrets: [{ secret: token, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
 * });
 * await w.exec(["cat", "/run/secrets/runner-token"], { user: "2000" });
 * ```
 */
export function podmanFileBackend(options: PodmanBackendOptions = {}): SecretBackend {
  return new PodmanBackend({ id: "podman-file", driver: "file", encryptedAtRest: false }, options);
}

/**
 * A backend on Podman secrets with the `pass` driver: values are GnuPG-encrypted at rest,
 * one `<secret id>.gpg` file per secret in a password store.
 *
 * Given no store options it creates a throwaway GnuPG home, a passphrase-less key and a
 * password store in a 0700 temp dir it owns, and deletes them (and stops their gpg-agent) on
 * `dispose()`. Given `{ gpgHome, storeDir, key? }` it uses those and leaves them alone. It
 * never touches `~/.gnupg` or `~/.password-store` unless you pass them.
 *
 * Podman runs `gpg` inside its API service, so every secret names the store in its driver
 * options (`root`, `key`, `gpghomedir`, understood by Podman 4.3's containers/common 0.50):
 * the service itself needs no GnuPG environment and can be shared with other backends.
 *
 * @example
 * ```ts
 * await using backend = podmanPassBackend();
 * const s = await backend.createSecret("db-password", "hunter2");
 * ```
 */
export function podmanPassBackend(options: PodmanPassBackendOptions = {}): SecretBackend {
  const { gpgHome, storeDir, key } = options;
  if ((gpgHome === undefined) !== (storeDir === undefined)) {
    throw new InvalidInputError(
      "podman-pass",
      "Give gpgHome and storeDir together (key is optional: it defaults to storeDir/.gpg-id), or neither for a throwaway store.",
    );
  }
  if (key !== undefined && gpgHome === undefined) {
    throw new InvalidInputError(
      "podman-pass",
      "key needs gpgHome and storeDir: a throwaway store makes its own key. Remove key, or give all three.",
    );
  }
  return new PodmanBackend(
    {
      id: "podman-pass",
      driver: "pass",
      encryptedAtRest: true,
      ...(gpgHome !== undefined && storeDir !== undefined
        ? { store: { gpgHome, storeDir, ...(key === undefined ? {} : { key }) } }
        : {}),
    },
    options,
  );
}
