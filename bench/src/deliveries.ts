import type { Capabilities, FileDelivery, SecretHandle } from "@keyhole/core";
import { READER_UID } from "./engines.js";

/**
 * The benchmark's file delivery for `secret`: owned by uid/gid 2000 with mode 0400 where the
 * backend honours ownership and mode, world-readable 0444 where it honours only the mode, the
 * engine's default otherwise. {@link readerFor} names the user that can read it back.
 */
export function benchDelivery(secret: SecretHandle, caps: Readonly<Capabilities>): FileDelivery {
  return {
    secret,
    as: "file",
    ...(caps.fileOwnership ? { uid: READER_UID, gid: READER_UID } : {}),
    ...(caps.fileMode ? { mode: caps.fileOwnership ? 0o400 : 0o444 } : {}),
  };
}

/** The exec user that reads a {@link benchDelivery} back: uid 2000 unless the engine decides the owner. */
export function readerFor(caps: Readonly<Capabilities>): string {
  return caps.fileOwnership || caps.fileMode ? String(READER_UID) : "0";
}
