/**
 * A case's tolerances: the bounds per comparison, their defaults (from the comparison-kind table)
 * and how a case's overrides merge over them.
 *
 * @module
 */
import { COMPARISON_KINDS, type ComparisonKind } from "../results/kinds.ts";
import type { Tolerance } from "../results/schema.ts";

/**
 * A case's bounds for one comparison, merged bound by bound over that comparison's default
 * (`defaultTolerances`): a number replaces the default's bound (or adds one), `null` removes
 * the default's bound, an omitted bound keeps the default's. Every bound is a finite number
 * >= 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type ToleranceOverride } from "./case.ts";
 * // fp16 UNet vs fp32 torch: no maxAbs bound, a relative one instead; cosineMin stays.
 * const fp16: ToleranceOverride = { maxAbs: null, relL2: 1e-3 };
 * const c = defineCase({
 *   name: "fp16", model: "m", pipeline: "text2img", sampler: { type: "DDIMScheduler" },
 *   steps: 2, prompt: "", guidanceScale: 1, seed: 0, tolerances: { freeRunTorch: fp16 },
 * });
 * assert.deepEqual(c.tolerances.freeRunTorch, { relL2: 1e-3, cosineMin: 0.99999 });
 * ```
 */
export type ToleranceOverride = { [B in keyof Tolerance]?: number | null };

/**
 * The tolerances a case declares, per comparison; each merged bound by bound over
 * `defaultTolerances` (see {@link ToleranceOverride}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseToleranceOverrides } from "./case_tolerances.ts";
 * const t: CaseToleranceOverrides = { freeRunTorch: { maxAbs: 2e-3 }, image: { psnrMin: null } };
 * assert.equal(t.freeRunTorch?.maxAbs, 2e-3);
 * ```
 */
export type CaseToleranceOverrides = { [K in keyof CaseTolerances]?: ToleranceOverride };

/**
 * The comparisons a case makes, each with its tolerance (defaults in `defaultTolerances`); one
 * optional key per kind of the comparison-kind table (`COMPARISON_KINDS` in core/results/).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CaseTolerances, defaultTolerances } from "./case_tolerances.ts";
 * const t: CaseTolerances = { freeRunTorch: { maxAbs: 5e-3 } };
 * assert.deepEqual(Object.keys(defaultTolerances), [
 *   "freeRunOnnx",
 *   "freeRunTorch",
 *   "replayScheduler",
 *   "replayModel",
 *   "image",
 * ]);
 * assert.equal(t.freeRunTorch?.maxAbs, 5e-3);
 * ```
 */
export type CaseTolerances = { [K in ComparisonKind]?: Tolerance };

/**
 * Default tolerances per comparison kind, read from the comparison-kind table
 * (`COMPARISON_KINDS` in core/results/kinds.ts). Same ONNX file under the same onnxruntime
 * version: a few ulp; PyTorch vs ONNX: kernel-order differences accumulate over steps. The
 * scheduler replay is exact (0 ulp) once the reference machine's math is used (recorded or
 * inferred).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultTolerances } from "./case_tolerances.ts";
 * assert.deepEqual(defaultTolerances.replayScheduler, { maxUlp: 0 });
 * ```
 */
export const defaultTolerances: Readonly<Required<CaseTolerances>> = Object.freeze(
  Object.fromEntries(
    Object.entries(COMPARISON_KINDS).map(([kind, info]) => [kind, info.tolerance]),
  ) as Required<CaseTolerances>,
);

/**
 * The bounds of a {@link Tolerance}, in the order a merged tolerance lists them (`satisfies`
 * makes a bound added to `Tolerance` but missing here a compile error).
 */
const TOLERANCE_BOUNDS = Object.keys(
  {
    maxAbs: true,
    maxUlp: true,
    rmse: true,
    relL2: true,
    cosineMin: true,
    psnrMin: true,
    ssimMin: true,
  } satisfies Record<keyof Tolerance, true>,
) as (keyof Tolerance)[];

/**
 * Each comparison's default tolerance with the case's bounds merged over it, bound by bound
 * (`null` removes a default bound). Validates kinds and bounds, failing with the field
 * `tolerances.<kind>` or `tolerances.<kind>.<bound>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeTolerances } from "./case_tolerances.ts";
 * const fail = (field: string, problem: string): never => {
 *   throw new Error(`${field}: ${problem}`);
 * };
 * const merged = mergeTolerances({ freeRunTorch: { maxAbs: null, relL2: 1e-3 } }, fail);
 * assert.deepEqual(merged.freeRunTorch, { relL2: 1e-3, cosineMin: 0.99999 });
 * assert.throws(() => mergeTolerances({ freeRunOnnx: { psnrMin: 40 } }, fail), /tolerances\.freeRunOnnx\.psnrMin: not measured/);
 * ```
 */
export function mergeTolerances(
  given: CaseToleranceOverrides | undefined,
  fail: (field: string, problem: string) => never,
): CaseTolerances {
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    fail("tolerances", "expected an object of comparison -> bounds");
  }
  const kinds = Object.keys(defaultTolerances);
  for (const [kind, bounds] of Object.entries(given ?? {})) {
    if (!kinds.includes(kind)) {
      fail(`tolerances.${kind}`, `unknown comparison; expected ${kinds.join(", ")}`);
    }
    if (bounds === undefined) continue;
    if (typeof bounds !== "object" || bounds === null || Array.isArray(bounds)) {
      fail(`tolerances.${kind}`, "expected an object of bounds, e.g. { maxAbs: 1e-5 }");
    }
    for (const [bound, value] of Object.entries(bounds as Record<string, unknown>)) {
      if (!(TOLERANCE_BOUNDS as string[]).includes(bound)) {
        fail(
          `tolerances.${kind}.${bound}`,
          `unknown bound; expected ${TOLERANCE_BOUNDS.join(", ")}`,
        );
      }
      const measured = COMPARISON_KINDS[kind as ComparisonKind].bounds as string[];
      if (value !== null && value !== undefined && !measured.includes(bound)) {
        fail(
          `tolerances.${kind}.${bound}`,
          `not measured by this comparison; expected one of ${measured.join(", ")}`,
        );
      }
      if (
        value !== undefined && value !== null &&
        !(typeof value === "number" && Number.isFinite(value) && value >= 0)
      ) {
        fail(
          `tolerances.${kind}.${bound}`,
          `expected a finite number >= 0, or null to drop the default bound; got ${
            typeof value === "number" ? value : JSON.stringify(value)
          }`,
        );
      }
    }
  }
  const merged: CaseTolerances = {};
  for (const kind of kinds as (keyof CaseTolerances)[]) {
    const dflt: Tolerance = defaultTolerances[kind];
    const over: ToleranceOverride = given?.[kind] ?? {};
    const out: Tolerance = {};
    for (const bound of TOLERANCE_BOUNDS) {
      const value = over[bound] !== undefined ? over[bound] : dflt[bound];
      if (value !== undefined && value !== null) out[bound] = value;
    }
    if (Object.keys(out).length === 0) {
      fail(
        `tolerances.${kind}`,
        "no bound left after merging (a comparison with no bound can never fail); keep one",
      );
    }
    merged[kind] = out;
  }
  return merged;
}
