import { describe, expect, it } from "vitest";
import { CHECKS } from "./catalogue.js";
import { globToRegExp, selectChecks } from "./select.js";

describe("selectChecks", () => {
  it("selects everything by default, in catalogue order", () => {
    expect(selectChecks().map((c) => c.id)).toEqual(CHECKS.map((c) => c.id));
  });

  it("takes ids and globs, keeps catalogue order and drops duplicates", () => {
    const ids = selectChecks(["limits.*", "env.child-inherits", "env.*"]).map((c) => c.id);
    expect(ids[0]).toBe("env.child-inherits");
    expect(ids.filter((i) => i === "env.child-inherits")).toHaveLength(1);
    expect(ids).toContain("limits.binary-exact");
    expect(ids.every((i) => i.startsWith("env.") || i.startsWith("limits."))).toBe(true);
    expect(selectChecks("file.*-default").map((c) => c.id)).toEqual([
      "file.other-uid-reads-default",
    ]);
  });

  it("rejects a pattern that matches nothing, naming the known checks", () => {
    expect(() => selectChecks(["env.*", "evn.*"])).toThrow(
      /\[keyhole\] \[conformance\] No check matches "evn\.\*"\. Use a check id or a glob such as "env\.\*"; known checks: env\.child-inherits, /,
    );
  });

  it("treats dots literally and anchors both ends", () => {
    expect(globToRegExp("env.child").test("envXchild")).toBe(false);
    expect(globToRegExp("env.*").test("xenv.a")).toBe(false);
    expect(globToRegExp("env.?hild-inherits").test("env.child-inherits")).toBe(true);
  });
});
