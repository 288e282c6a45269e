// keyhole's probe image: built on this machine from Debian's static busybox and loaded into
// Podman without any registry. The same busybox always gives the same tag, so a second call
// finds the image and loads nothing.
import { ensureProbeImage, PROBE_USERS } from "@keyhole/probe";

const image = await ensureProbeImage("podman");
console.log(`podman has ${image}`);
console.log(`users: root (0), alice (${PROBE_USERS.alice}), bob (${PROBE_USERS.bob})`);
console.log(`try: podman run --rm --network none ${image} su -s /bin/sh bob -c id`);
