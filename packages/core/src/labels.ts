import { randomBytes } from "node:crypto";

/** The label every object keyhole creates carries; its value is always `"true"`. */
export const KEYHOLE_LABEL = "keyhole";
/** The label carrying the run id of the backend instance that created an object. */
export const KEYHOLE_RUN_LABEL = "keyhole.run";
/** The label carrying the backend id (`podman-file`, …) that created an object. */
export const KEYHOLE_BACKEND_LABEL = "keyhole.backend";

/** A short random id, unique per backend instance, used in labels and object names. */
export function newRunId(): string {
  return randomBytes(5).toString("hex");
}

/**
 * The labels for an object created by backend `backendId` in run `runId`, merged over the
 * caller's own labels (keyhole's keys win, so ownership can never be spoofed away).
 */
export function ownershipLabels(
  backendId: string,
  runId: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...extra,
    [KEYHOLE_LABEL]: "true",
    [KEYHOLE_RUN_LABEL]: runId,
    [KEYHOLE_BACKEND_LABEL]: backendId,
  };
}
