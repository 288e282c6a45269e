import { describe, expect, it } from "vitest";
import { ResourceTracker } from "./tracker.js";

describe("ResourceTracker", () => {
  it("removes newest first and tries everything even when one step fails", async () => {
    const order: string[] = [];
    const t = new ResourceTracker("t");
    t.add("secret:a", async () => {
      order.push("a");
    });
    t.add("container:b", async () => {
      order.push("b");
      throw new Error("busy");
    });
    t.add("container:c", async () => {
      order.push("c");
    });
    await expect(t.disposeAll()).rejects.toThrow(
      "[keyhole] [t] Could not remove 1 object(s): container:b (busy). Run `keyhole gc` to remove every object labelled keyhole.",
    );
    expect(order).toEqual(["c", "b", "a"]);
    expect(t.keys()).toEqual(["container:b"]);
  });
});
