import { describe, expect, it } from "vitest";
import { demuxDockerStream } from "./docker-stream.js";

function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("demuxDockerStream", () => {
  it("splits interleaved stdout and stderr frames, byte-exact", () => {
    const binary = Buffer.from([0, 1, 2, 255, 10, 0]);
    const data = Buffer.concat([
      frame(1, Buffer.from("out1 ")),
      frame(2, Buffer.from("err1")),
      frame(1, binary),
      frame(2, Buffer.from(" err2")),
    ]);
    const { stdout, stderr } = demuxDockerStream(data);
    expect(stdout).toEqual(Buffer.concat([Buffer.from("out1 "), binary]));
    expect(stderr.toString()).toBe("err1 err2");
  });

  it("keeps what arrived of a truncated last frame and ignores a partial header", () => {
    const full = frame(1, Buffer.from("hello"));
    const { stdout } = demuxDockerStream(Buffer.concat([full.subarray(0, 10), Buffer.alloc(0)]));
    expect(stdout.toString()).toBe("he");
    expect(demuxDockerStream(full.subarray(0, 5)).stdout.length).toBe(0);
  });
});
