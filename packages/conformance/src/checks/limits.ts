import { isKeyholeError } from "@keyhole/core";
import type { Measurement } from "../judge.js";
import { parseKv, q, script, sha256 } from "../pass.js";
import type { CheckImpl } from "./types.js";

const SIZE_AND_DIGEST = (f: string) => `echo "size=$(wc -c < ${q(f)})"\nrd ${q(f)} read`;

export const limitsChecks: Record<string, CheckImpl> = {
  "limits.max-bytes": {
    fixtures: ["big"],
    note: "root measures size and digest of the largest value",
    parts: ([big]) => [["root", SIZE_AND_DIGEST(big!.data.target!)]],
    interpret([out], [big], pass): Measurement {
      const facts = big!.data.facts;
      const kv = out!.kv;
      const size = Number(facts.size);
      if (!/^\d+$/.test(kv.get("size") ?? "") || !/^[0-9a-f]{64}$/.test(kv.get("read") ?? "")) {
        return {
          outcome: "error",
          reason: `The probe did not print the delivered file's size and digest (size=${kv.get("size") ?? "nothing"}).`,
        };
      }
      const gotSize = Number(kv.get("size"));
      const intact = gotSize === size && kv.get("read") === sha256(big!.data.value!);
      const over = facts.overLimit ?? "not probed";
      const contradictions: string[] = [];
      if (!intact) {
        contradictions.push(
          `A value of ${size} bytes (declared maxValueBytes ${facts.declared}) arrived as ${Number.isNaN(gotSize) ? "nothing" : `${gotSize} bytes`}${gotSize === size ? " with other content" : ""}.`,
        );
      }
      if (over === "accepted") {
        contradictions.push(
          `createSecret accepted ${size + 1} bytes although maxValueBytes is ${facts.declared}; it must throw SECRET_TOO_LARGE before any engine call.`,
        );
      } else if (over !== "SECRET_TOO_LARGE" && over !== "not probed") {
        contradictions.push(
          `createSecret of ${size + 1} bytes threw ${over}, not SECRET_TOO_LARGE.`,
        );
      }
      pass.record({
        where: "host",
        argv: ["createSecret", `(${size + 1} bytes)`],
        note: `one byte over the declared maximum: ${over}${facts.overLimitMessage ? ` — ${facts.overLimitMessage}` : ""}`,
      });
      const overSays =
        over === "not probed"
          ? `declared ${facts.declared}, probed ${size}`
          : `${size + 1} ${over === "SECRET_TOO_LARGE" ? "refused (SECRET_TOO_LARGE)" : over}`;
      if (intact && over === "not probed") {
        // The declared limit is beyond what keyhole sends: nothing was measured at the limit.
        return {
          outcome: "unmeasurable",
          reason: `The backend declares maxValueBytes ${facts.declared}, more than the ${size} bytes keyhole sends; the limit itself was not probed (${size} bytes arrived intact).`,
          observed: `${size} delivered intact; declared ${facts.declared}, not probed`,
          contradictions,
        };
      }
      return {
        outcome: intact && over === "SECRET_TOO_LARGE" ? "protected" : "exposed",
        observed: `${size} ${intact ? "delivered intact" : "altered"}; ${overSays}`,
        contradictions,
      };
    },
  },
  "limits.binary-exact": {
    fixtures: ["binary"],
    async measure({ pass }, [bin]): Promise<Measurement> {
      const f = bin!.data.target!;
      const bytes = bin!.data.bytes!;
      const kv = parseKv((await pass.sh(bin!.workload!, script(SIZE_AND_DIGEST(f)))).stdout);
      if (!/^\d+$/.test(kv.get("size") ?? "") || !/^[0-9a-f]{64}$/.test(kv.get("read") ?? "")) {
        return {
          outcome: "error",
          reason: `The probe did not print the delivered file's size and digest (size=${kv.get("size") ?? "nothing"}).`,
        };
      }
      const exact = Number(kv.get("size")) === bytes.length && kv.get("read") === sha256(bytes);
      const contradictions: string[] = [];
      let envSays = "env not offered";
      if (pass.caps.envDelivery) {
        // Invariant 4: a NUL byte cannot live in an environment variable; the adapter must refuse it.
        try {
          const w = await pass.run(
            {
              image: pass.image,
              command: ["sh", "-c", "sleep 30"],
              secrets: [{ secret: bin!.data.secret!, as: "env", name: "KH_BINARY" }],
            },
            ["binary-as-env"],
          );
          await w.stop().catch(() => {});
          envSays = "env delivery accepted";
          contradictions.push(
            "An env delivery of a value with NUL bytes was accepted; it must fail with INVALID_INPUT.",
          );
        } catch (error) {
          const code = isKeyholeError(error) ? error.code : "an untyped error";
          envSays = `env refused (${code})`;
          pass.record({
            where: "host",
            argv: ["backend.run", "(env delivery of the binary secret)"],
            note: `threw ${code}: ${error instanceof Error ? error.message : String(error)}`,
          });
          if (code !== "INVALID_INPUT")
            contradictions.push(
              `An env delivery of a value with NUL bytes threw ${code}, not INVALID_INPUT.`,
            );
        }
      }
      return {
        outcome: exact && contradictions.length === 0 ? "protected" : "exposed",
        observed: `${bytes.length} bytes with NUL/0xff ${exact ? "delivered exact" : `arrived as ${kv.get("size") ?? "?"} bytes${Number(kv.get("size")) === bytes.length ? " with other content" : ""}`}; ${envSays}`,
        contradictions,
      };
    },
  },
};
