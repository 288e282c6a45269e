import { describe, expect, it } from "vitest";
import { podmanVersionFeatures, podmanVersionNumber } from "./podman-backend.js";

describe("podmanVersionFeatures", () => {
  it("decides replace from the version, not the backend", () => {
    expect(podmanVersionNumber("4.3.1")).toBe(4003);
    expect(podmanVersionNumber("5.4.2")).toBe(5004);
    expect(podmanVersionNumber("dev")).toBe(0);
    expect(podmanVersionFeatures("4.3.1")).toEqual({ replace: false });
    expect(podmanVersionFeatures("4.7.0")).toEqual({ replace: true });
    expect(podmanVersionFeatures("5.4.2")).toEqual({ replace: true });
    expect(podmanVersionFeatures(undefined)).toEqual({ replace: false });
  });
});
