/** stdout and stderr of an exec session, split apart. */
export interface DemuxedOutput {
  stdout: Buffer;
  stderr: Buffer;
}

/**
 * Splits the multiplexed stream the Docker and libpod attach/exec endpoints send when no TTY
 * is allocated: frames of an 8-byte header (`[stream, 0, 0, 0, size as uint32 big-endian]`)
 * followed by `size` bytes; stream 1 is stdout, 2 is stderr. A truncated last frame keeps
 * what arrived.
 *
 * @example
 * ```ts
 * demuxDockerStream(Buffer.from([1, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69])).stdout.toString(); // "hi"
 * ```
 */
export function demuxDockerStream(data: Buffer): DemuxedOutput {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    const stream = data[offset];
    const size = data.readUInt32BE(offset + 4);
    const payload = data.subarray(offset + 8, Math.min(offset + 8 + size, data.length));
    if (stream === 2) stderr.push(payload);
    else if (stream === 1 || stream === 0) stdout.push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}
