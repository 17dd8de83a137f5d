/**
 * Studies declared in TypeScript like cases (`*.study.ts` beside the cases): `defineStudy`
 * checks a study's fields, naming the first bad one, and freezes it. A study sweeps a grid of the
 * same machinery the cases run. Two kinds: `"inversion"` (inversion fidelity over methods x steps
 * x guidance, core/harness/inversion_study.ts) and `"samplers"` (sampler accuracy against a
 * converged solution, core/harness/sampler_study.ts; its fields in sampler_study_spec.ts).
 *
 * @module
 */
import { INVERSION_METHODS, type InversionSpec } from "../pipelines/inversion/methods.ts";
import { checkSamplerStudy, type SamplerStudySpec } from "./sampler_study_spec.ts";

/**
 * A model of an inversion study.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyModelSpec } from "./study.ts";
 * const m: StudyModelSpec = { model: "fixtures/models/digits-sd", images: 16, prompt: "a handwritten digit {k}" };
 * assert.equal(m.images, 16);
 * ```
 */
export interface StudyModelSpec {
  /** The model folder (a latent text model, or a pixel-space unconditional one). */
  model: string;
  /** How many held-out digits to run on (the first of the classifier file's held-out list). */
  images: number;
  /** A text model's prompt, `{k}` replaced by the image's digit. */
  prompt?: string;
}

/**
 * A method of an inversion study: its id (unique, short) and spec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyMethodSpec } from "./study.ts";
 * const m: StudyMethodSpec = { id: "edict-p0.8", spec: { method: "edict", mixing: 0.8 } };
 * assert.equal(m.spec.method, "edict");
 * ```
 */
export interface StudyMethodSpec {
  /** Lowercase letters, digits, dots and dashes. */
  id: string;
  /** The method and its options. */
  spec: InversionSpec;
  /** Run it on pixel-space models (default true; negative-prompt inversion never is). */
  pixel?: boolean;
  /** Run it on latent text models (default true). */
  text?: boolean;
  /**
   * scheduler_config.json keys laid over the model's for this method (e.g. `{ clip_sample:
   * false }`), as a case's `sampler.config`.
   */
  config?: Record<string, unknown>;
}

/**
 * An inversion fidelity study (docs/inversion.md): every model x method x steps x guidance (text
 * models; pixel-space models run once per steps), over the models' held-out digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InversionStudySpec } from "./study.ts";
 * const s: InversionStudySpec = {
 *   name: "small", kind: "inversion", models: [{ model: "fixtures/models/digits-ddpm", images: 2 }],
 *   methods: [{ id: "ddim", spec: { method: "ddim" } }], steps: [10], guidance: [1], seed: 0,
 * };
 * assert.equal(s.kind, "inversion");
 * ```
 */
export interface InversionStudySpec {
  /** Lowercase letters, digits and dashes; names the report folder. */
  name: string;
  /** The study kind. */
  kind: "inversion";
  /** One sentence on what the study shows. */
  description?: string;
  /** The models. */
  models: StudyModelSpec[];
  /** The methods. */
  methods: StudyMethodSpec[];
  /** Step counts of each pass. */
  steps: number[];
  /** Guidance scales (text models). */
  guidance: number[];
  /** Seed of the generator of each round trip (a VAE sample, when a method asks for one). */
  seed: number;
  /** The file whose held-out digits are the images (default fixtures/models/digit-classifier.json). */
  digits?: string;
  /** Picture strips: how many images per model, at which steps and guidance scales. */
  strips?: { images: number; steps: number; guidance: number[] };
}

/**
 * An inversion study as `defineStudy` returns it (checked, frozen).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineStudy, type InversionStudy } from "./study.ts";
 * const s: InversionStudy = defineStudy({
 *   name: "s", kind: "inversion", models: [{ model: "m", images: 1 }],
 *   methods: [{ id: "ddim", spec: { method: "ddim" } }], steps: [10], guidance: [1], seed: 0,
 * });
 * assert.ok(Object.isFrozen(s));
 * ```
 */
export type InversionStudy = Readonly<InversionStudySpec>;

/**
 * A sampler study as `defineStudy` returns it (checked, frozen).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineStudy, type SamplerStudy } from "./study.ts";
 * const s: SamplerStudy = defineStudy({
 *   name: "s", kind: "samplers", models: [{ model: "m" }], steps: [5], seeds: 1,
 *   samplers: [{ id: "ddim", spec: { type: "DDIMScheduler" }, order: 1 }],
 *   reference: {
 *     spec: { type: "DPMSolverMultistepScheduler" }, steps: 100,
 *     check: { spec: { type: "PNDMScheduler" }, steps: 100, tolerance: 1e-3 },
 *   },
 * });
 * assert.ok(Object.isFrozen(s.samplers[0]));
 * ```
 */
export type SamplerStudy = Readonly<SamplerStudySpec>;

/**
 * Any study `defineStudy` returns; its `kind` tells which.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Study } from "./study.ts";
 * const kind = (s: Study) => s.kind;
 * assert.equal(typeof kind, "function");
 * ```
 */
export type Study = InversionStudy | SamplerStudy;

/**
 * A study field that is not what it should be.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StudySpecError } from "./study.ts";
 * assert.equal(new StudySpecError("s", "steps", "expected").message, "study 's': steps: expected");
 * ```
 */
export class StudySpecError extends Error {
  /** The study's name. */
  readonly study: string;
  /** The field at fault. */
  readonly field: string;
  /** What was expected. */
  readonly problem: string;
  /**
   * The error for `field` of study `study`.
   *
   * @param study the study's name (or "(unnamed)")
   * @param field the field at fault
   * @param problem what was expected
   */
  constructor(study: string, field: string, problem: string) {
    super(`study '${study}': ${field}: ${problem}`);
    this.name = "StudySpecError";
    this.study = study;
    this.field = field;
    this.problem = problem;
  }
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const STUDY_KEYS = {
  inversion: [
    "name",
    "kind",
    "description",
    "models",
    "methods",
    "steps",
    "guidance",
    "seed",
    "digits",
    "strips",
  ],
  samplers: [
    "name",
    "kind",
    "description",
    "models",
    "config",
    "samplers",
    "steps",
    "seeds",
    "reference",
    "fit",
    "classifier",
  ],
};
const ID = /^[a-z0-9]+([.-][a-z0-9]+)*$/;

function positiveIntegers(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0);
}

/**
 * Checks a study declaration and freezes it.
 *
 * @throws {StudySpecError} naming the first bad field.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineStudy } from "./study.ts";
 * const s = defineStudy({
 *   name: "small", kind: "inversion", models: [{ model: "fixtures/models/digits-ddpm", images: 2 }],
 *   methods: [{ id: "ddim", spec: { method: "ddim" } }], steps: [10, 25], guidance: [1], seed: 0,
 * });
 * assert.ok(Object.isFrozen(s.steps));
 * assert.throws(() => defineStudy({ ...s, steps: [10, 0] }), /study 'small': steps: expected/);
 * assert.throws(
 *   () => defineStudy({ ...s, methods: [{ id: "x", spec: { method: "edict", mixing: 2 } }] }),
 *   /methods\[0\] \(x\)\.spec\.mixing: expected a number in \(0, 1\)/,
 * );
 * ```
 */
export function defineStudy<S extends InversionStudySpec | SamplerStudySpec>(spec: S): Readonly<S> {
  const name = typeof spec?.name === "string" ? spec.name : "(unnamed)";
  const fail = (field: string, problem: string): never => {
    throw new StudySpecError(name, field, problem);
  };
  if (typeof spec !== "object" || spec === null) fail("(study)", "expected an object");
  const kind = spec.kind;
  if (kind !== "inversion" && kind !== "samplers") {
    fail("kind", `expected "inversion" or "samplers", got ${JSON.stringify(kind)}`);
  }
  for (const key of Object.keys(spec)) {
    if (!STUDY_KEYS[kind].includes(key)) {
      const article = kind === "inversion" ? "an" : "a";
      fail(
        key,
        `not a field of ${article} ${kind} study (expected one of ${STUDY_KEYS[kind].join(", ")})`,
      );
    }
  }
  if (!NAME.test(spec.name ?? "")) fail("name", "expected lowercase letters, digits and dashes");
  if (spec.kind === "samplers") checkSamplerStudy(spec as SamplerStudySpec, fail);
  else checkInversionStudy(spec as InversionStudySpec, fail);
  return deepFreeze(structuredClone(spec));
}

/** The fields of an inversion study (its name and kind already checked). */
function checkInversionStudy(
  spec: InversionStudySpec,
  fail: (field: string, problem: string) => never,
): void {
  if (!Array.isArray(spec.models) || spec.models.length === 0) {
    fail("models", "expected at least one { model, images }");
  }
  spec.models.forEach((m, i) => {
    if (typeof m?.model !== "string" || m.model === "") {
      fail(`models[${i}].model`, "expected a folder");
    }
    if (!(Number.isInteger(m.images) && m.images > 0)) {
      fail(`models[${i}].images`, "expected a positive whole number");
    }
    if (m.prompt !== undefined && typeof m.prompt !== "string") {
      fail(`models[${i}].prompt`, "expected a string ({k}: the digit)");
    }
  });
  if (!Array.isArray(spec.methods) || spec.methods.length === 0) {
    fail("methods", "expected at least one { id, spec }");
  }
  const ids = new Set<string>();
  spec.methods.forEach((m, i) => {
    if (!ID.test(m?.id ?? "")) {
      fail(`methods[${i}].id`, "expected lowercase letters, digits, dots, dashes");
    }
    const at = `methods[${i}] (${m.id})`;
    if (ids.has(m.id)) fail(`${at}.id`, `'${m.id}' is used twice`);
    for (const key of Object.keys(m)) {
      if (!["id", "spec", "pixel", "text", "config"].includes(key)) {
        fail(`${at}.${key}`, "not a field of a study method (id, spec, pixel, text, config)");
      }
    }
    ids.add(m.id);
    const row = Object.hasOwn(INVERSION_METHODS, m.spec?.method)
      ? INVERSION_METHODS[m.spec.method]
      : null;
    if (!row) {
      fail(
        `${at}.spec.method`,
        `expected one of ${Object.keys(INVERSION_METHODS).join(", ")}, got ${
          JSON.stringify(m.spec?.method)
        }`,
      );
    }
    const problem = row!.check(m.spec);
    if (problem) fail(`${at}.spec.${problem[0].replace(/^inversion\./, "")}`, problem[1]);
    for (const flag of ["pixel", "text"] as const) {
      if (m[flag] !== undefined && typeof m[flag] !== "boolean") {
        fail(`${at}.${flag}`, "expected a boolean");
      }
    }
    if (
      m.config !== undefined &&
      (typeof m.config !== "object" || m.config === null || Array.isArray(m.config))
    ) {
      fail(`${at}.config`, "expected an object of scheduler_config.json keys");
    }
  });
  if (!positiveIntegers(spec.steps)) fail("steps", "expected a list of positive whole numbers");
  const tutorial = spec.methods.find((m) => m.spec.method === "tutorial");
  if (tutorial && spec.steps.some((n) => n < 3)) {
    fail("steps", `method '${tutorial.id}' (the tutorial's loop) needs at least 3 steps`);
  }
  if (!Array.isArray(spec.guidance) || !spec.guidance.every((g) => Number.isFinite(g) && g >= 0)) {
    fail("guidance", "expected a list of numbers >= 0");
  }
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    fail("seed", "expected a whole number >= 0");
  }
  if (spec.digits !== undefined && (typeof spec.digits !== "string" || !spec.digits)) {
    fail("digits", "expected the path of a digit classifier JSON with held-out digits");
  }
  const strips = spec.strips;
  if (strips !== undefined) {
    if (!(Number.isInteger(strips.images) && strips.images >= 0)) {
      fail("strips.images", "expected a whole number >= 0");
    }
    if (!spec.steps.includes(strips.steps)) {
      fail("strips.steps", "expected one of the study's steps");
    }
    if (
      !Array.isArray(strips.guidance) || !strips.guidance.every((g) => spec.guidance.includes(g))
    ) {
      fail("strips.guidance", "expected guidance scales of the study");
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
