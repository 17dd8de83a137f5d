/**
 * The one table of comparison kinds: for each, the short name the verdict line prints, the
 * label the HTML report shows, what is compared, and the default tolerance. The case validator
 * (`defaultTolerances`, `CaseTolerances`), the verdict line and the report all read it.
 *
 * @module
 */
import type { Tolerance } from "./schema.ts";

/**
 * What the table says about one comparison kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ComparisonKindInfo } from "./kinds.ts";
 * const info: ComparisonKindInfo = {
 *   short: "sched",
 *   label: "replay: scheduler only",
 *   subject: "prevSample per step",
 *   tolerance: { maxUlp: 0 },
 *   bounds: ["maxAbs", "maxUlp"],
 * };
 * assert.deepEqual(info.tolerance.maxUlp, 0);
 * ```
 */
export interface ComparisonKindInfo {
  /** The name in the verdict line, e.g. "vs onnx". */
  readonly short: string;
  /** The name in the HTML report, e.g. "free run vs diffusers + onnxruntime". */
  readonly label: string;
  /** What is compared, in words. */
  readonly subject: string;
  /** The default tolerance (a case's `tolerances` are merged over it bound by bound). */
  readonly tolerance: Readonly<Tolerance>;
  /** The bounds this comparison measures (PSNR and SSIM exist for images only). */
  readonly bounds: readonly (keyof Tolerance)[];
}

const TENSOR_BOUNDS: readonly (keyof Tolerance)[] = Object.freeze([
  "maxAbs",
  "maxUlp",
  "rmse",
  "relL2",
  "cosineMin",
]);

/**
 * The shape of {@link COMPARISON_KINDS}: one entry per comparison kind. Its keys are the
 * {@link ComparisonKind}s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ComparisonKindTable } from "./kinds.ts";
 * const first: keyof ComparisonKindTable = "freeRunOnnx";
 * assert.deepEqual(first, "freeRunOnnx");
 * ```
 */
export interface ComparisonKindTable {
  /** Our whole loop vs diffusers with the same ONNX files under Python onnxruntime: every step and the final latents. */
  readonly freeRunOnnx: ComparisonKindInfo;
  /** Our whole loop vs diffusers with the PyTorch model: final latents. */
  readonly freeRunTorch: ComparisonKindInfo;
  /** Replay: reference model output fed to our scheduler, per step prevSample. */
  readonly replayScheduler: ComparisonKindInfo;
  /** Replay: reference model input fed to our model, per step guided model output (vs ONNX ref). */
  readonly replayModel: ComparisonKindInfo;
  /** Decoded image vs the ONNX reference image. */
  readonly image: ComparisonKindInfo;
}

const table: ComparisonKindTable = {
  freeRunOnnx: {
    short: "vs onnx",
    label: "free run vs diffusers + onnxruntime",
    subject: "latents after every step, and the final latents",
    tolerance: { maxAbs: 1e-5 },
    bounds: TENSOR_BOUNDS,
  },
  freeRunTorch: {
    short: "vs torch",
    label: "free run vs diffusers + PyTorch",
    subject: "final latents",
    tolerance: { maxAbs: 1e-3, cosineMin: 0.99999 },
    bounds: TENSOR_BOUNDS,
  },
  replayScheduler: {
    short: "sched",
    label: "replay: scheduler only",
    subject: "prevSample per step, given the reference sample and model output",
    tolerance: { maxUlp: 0 },
    bounds: TENSOR_BOUNDS,
  },
  replayModel: {
    short: "model",
    label: "replay: model only",
    subject: "guided model output per step given the reference sample; text encoder output",
    tolerance: { maxAbs: 1e-5 },
    bounds: TENSOR_BOUNDS,
  },
  image: {
    short: "image",
    label: "decoded image vs onnxruntime",
    subject: "decoded, postprocessed image (0..255)",
    tolerance: { psnrMin: 60 },
    bounds: [...TENSOR_BOUNDS, "psnrMin", "ssimMin"],
  },
};

/**
 * The comparison kinds a case makes: `freeRunOnnx` (our whole loop vs diffusers with the same
 * ONNX files under Python onnxruntime), `freeRunTorch` (vs diffusers with the PyTorch model,
 * final latents), `replayScheduler` (reference model output fed to our scheduler),
 * `replayModel` (reference model input fed to our model) and `image` (the decoded image).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ComparisonKind } from "./kinds.ts";
 * const kind: ComparisonKind = "replayScheduler";
 * assert.deepEqual(kind, "replayScheduler");
 * ```
 */
export type ComparisonKind = keyof ComparisonKindTable;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every comparison kind, in the order a case makes them, with its short name, label, subject
 * and default tolerance. Frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPARISON_KINDS } from "./kinds.ts";
 * assert.deepEqual(COMPARISON_KINDS.freeRunOnnx.short, "vs onnx");
 * assert.deepEqual(COMPARISON_KINDS.replayScheduler.tolerance, { maxUlp: 0 });
 * assert.deepEqual(Object.keys(COMPARISON_KINDS), [
 *   "freeRunOnnx", "freeRunTorch", "replayScheduler", "replayModel", "image",
 * ]);
 * ```
 */
export const COMPARISON_KINDS: ComparisonKindTable = deepFreeze(table);

/**
 * Whether `name` is a comparison kind (a key of {@link COMPARISON_KINDS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isComparisonKind } from "./kinds.ts";
 * assert.deepEqual(isComparisonKind("image"), true);
 * assert.deepEqual(isComparisonKind("toString"), false);
 * ```
 */
export function isComparisonKind(name: string): name is ComparisonKind {
  return Object.hasOwn(COMPARISON_KINDS, name);
}
