/**
 * Scheduler configs to and from diffusers' `scheduler_config.json`: snake_case keys checked
 * against {@link CONFIG_FIELDS} (wrong types are {@link SchedulerConfigError}s naming the file
 * and the key; unknown keys are kept and reported), defaults filled in from a
 * {@link SchedulerSpec}, and the config written back in diffusers' form.
 *
 * @module
 */
import { CONFIG_FIELDS, type ConfigField, type SchedulerSpec } from "./config.ts";

/**
 * Where a config came from: the `_class_name` / `_diffusers_version` it carried, the keys
 * that were kept but not used (unknown keys, diffusers-private `_...` keys, options of other
 * classes), the warnings produced while reading it, and the source file name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConfigOrigin } from "./config_json.ts";
 * const origin: ConfigOrigin = { extra: {}, warnings: [] };
 * assert.deepEqual(origin.warnings, []);
 * ```
 */
export interface ConfigOrigin {
  /** `_class_name` as found in the JSON. */
  className?: string;
  /** `_diffusers_version` as found in the JSON. */
  diffusersVersion?: string;
  /** Keys kept verbatim but not used by this class (snake_case, as in the JSON). */
  extra: Record<string, unknown>;
  /** One line per key that was kept but not used, or per deprecated key. */
  warnings: string[];
  /** The file (or label) the JSON came from. */
  source?: string;
}

/**
 * The result of {@link parseSchedulerConfig}: the complete typed config plus its origin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ParsedSchedulerConfig } from "./config_json.ts";
 * import type { SchedulerConfig } from "./config.ts";
 * const parsed: ParsedSchedulerConfig<Partial<SchedulerConfig>> = {
 *   config: { stepsOffset: 1 },
 *   extra: {},
 *   warnings: [],
 * };
 * assert.equal(parsed.config.stepsOffset, 1);
 * ```
 */
export interface ParsedSchedulerConfig<C extends object> extends ConfigOrigin {
  /** Every option of the class: the JSON's value where given, else the class default. */
  config: C;
}

/**
 * A config value has the wrong type or an unknown enum value, or the JSON is not an object.
 * The message reads `${source}: "${key}": problem (expected ...)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchedulerConfigError } from "./config_json.ts";
 * const e = new SchedulerConfigError("scheduler_config.json", "beta_end", "expected a number, got \"x\"");
 * assert.equal(e.message, 'scheduler_config.json: "beta_end": expected a number, got "x"');
 * ```
 */
export class SchedulerConfigError extends Error {
  /** The file (or label) the config came from. */
  readonly source: string;
  /** The offending key (snake_case for JSON input, camelCase for constructor options). */
  readonly key?: string;

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param source the file or label of the config
   * @param key the offending key, or `undefined` when the whole value is wrong
   * @param problem what is wrong and what was expected
   */
  constructor(source: string, key: string | undefined, problem: string) {
    super(key === undefined ? `${source}: ${problem}` : `${source}: "${key}": ${problem}`);
    this.name = "SchedulerConfigError";
    this.source = source;
    this.key = key;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/**
 * Checks one value against its field description and returns it (arrays are copied).
 *
 * @throws {SchedulerConfigError} naming `source` and `key` when the value does not fit.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFieldValue } from "./config_json.ts";
 * import { CONFIG_FIELDS } from "./config.ts";
 * assert.equal(checkFieldValue(CONFIG_FIELDS.stepsOffset, 1, "config.json", "steps_offset"), 1);
 * ```
 */
export function checkFieldValue(
  field: ConfigField,
  value: unknown,
  source: string,
  key: string,
): unknown {
  const fail = (expected: string): never => {
    throw new SchedulerConfigError(source, key, `expected ${expected}, got ${describe(value)}`);
  };
  if (value === null) {
    if (field.nullable) return null;
    fail(`${kindText(field)} (null is not allowed)`);
  }
  const checkMin = (n: number) => {
    if (field.min !== undefined && n < field.min) fail(`${kindText(field)} >= ${field.min}`);
  };
  switch (field.kind) {
    case "int":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) fail("an integer");
      checkMin(value as number);
      return value;
    case "float":
      if (
        typeof value !== "number" || Number.isNaN(value) ||
        (!field.infinite && !Number.isFinite(value))
      ) fail(field.infinite ? "a number" : "a finite number");
      checkMin(value as number);
      return value;
    case "boolean":
      if (typeof value !== "boolean") fail("true or false");
      return value;
    case "string":
      if (typeof value !== "string") fail("a string");
      return value;
    case "enum": {
      const allowed = field.values ?? [];
      if (typeof value !== "string" || !allowed.includes(value)) {
        fail(`one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`);
      }
      return value;
    }
    case "floatArray": {
      if (!Array.isArray(value) || value.length === 0) fail("a non-empty array of numbers");
      const arr = value as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new SchedulerConfigError(
            source,
            `${key}[${i}]`,
            `expected a finite number, got ${describe(v)}`,
          );
        }
      }
      return [...arr];
    }
    case "intArray": {
      // an array of integers, possibly empty (UniPC's `disable_corrector`)
      if (!Array.isArray(value)) fail("an array of integers");
      const arr = value as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (typeof v !== "number" || !Number.isSafeInteger(v)) {
          throw new SchedulerConfigError(
            source,
            `${key}[${i}]`,
            `expected an integer, got ${describe(v)}`,
          );
        }
      }
      return [...arr];
    }
  }
}

function kindText(field: ConfigField): string {
  switch (field.kind) {
    case "int":
      return "an integer";
    case "float":
      return "a number";
    case "boolean":
      return "true or false";
    case "string":
      return "a string";
    case "enum":
      return `one of ${(field.values ?? []).map((v) => JSON.stringify(v)).join(", ")}`;
    case "floatArray":
      return "an array of numbers";
    case "intArray":
      return "an array of integers";
  }
}

/**
 * The field description of option `name` of a class: the spec's own `fields` first, then
 * {@link CONFIG_FIELDS}.
 *
 * @throws {Error} when neither describes it (a programming error in the spec).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldOf } from "./config_json.ts";
 * import type { SchedulerConfig, SchedulerSpec } from "./config.ts";
 * const spec: SchedulerSpec<Pick<SchedulerConfig, "stepsOffset">> = {
 *   className: "X",
 *   defaults: { stepsOffset: 0 },
 * };
 * assert.equal(fieldOf(spec, "stepsOffset").key, "steps_offset");
 * ```
 */
export function fieldOf<C extends object>(spec: SchedulerSpec<C>, name: keyof C): ConfigField {
  const own = spec.fields?.[name];
  if (own) return own;
  const shared = (CONFIG_FIELDS as Record<string, ConfigField>)[name as string];
  if (!shared) {
    throw new Error(`${spec.className}: option ${String(name)} has no field description`);
  }
  return shared;
}

/** snake_case JSON key -> camelCase option name, for every option known to any class. */
function knownJsonKeys<C extends object>(spec: SchedulerSpec<C>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, field] of Object.entries(CONFIG_FIELDS)) map.set(field.key, name);
  for (const [name, field] of Object.entries(spec.fields ?? {})) {
    if (field) map.set((field as ConfigField).key, name);
  }
  return map;
}

/**
 * Reads a diffusers `scheduler_config.json` object (snake_case keys) for the class described by
 * `spec`: every option of the class is type-checked and taken from the JSON or, when absent,
 * from the class defaults. `_class_name` and `_diffusers_version` are kept in the result; other
 * keys (unknown ones, options of other classes, diffusers-private `_...` keys) are kept in
 * `extra`, and each non-private one gets a line in `warnings`, as diffusers logs
 * "config attributes ... were passed ... but are not expected and will be ignored".
 *
 * @param json the parsed JSON (e.g. `JSON.parse(await Deno.readTextFile(path))`)
 * @param spec the class's spec (e.g. `DDIMScheduler.spec`)
 * @param source the file name, used in errors and warnings
 * @throws {SchedulerConfigError} when `json` is not an object, or an option has a wrong type or
 * an unknown enum value (the message lists the allowed values).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSchedulerConfig } from "./config_json.ts";
 * import type { SchedulerConfig, SchedulerSpec } from "./config.ts";
 * const spec: SchedulerSpec<Pick<SchedulerConfig, "numTrainTimesteps" | "stepsOffset">> = {
 *   className: "X",
 *   defaults: { numTrainTimesteps: 1000, stepsOffset: 0 },
 * };
 * const parsed = parseSchedulerConfig({ steps_offset: 1, foo: 2 }, spec, "a.json");
 * assert.deepEqual(parsed.config, { numTrainTimesteps: 1000, stepsOffset: 1 });
 * assert.equal(parsed.warnings.length, 1);
 * ```
 */
export function parseSchedulerConfig<C extends object>(
  json: unknown,
  spec: SchedulerSpec<C>,
  source?: string,
): ParsedSchedulerConfig<C> {
  const label = source ?? `${spec.className} config`;
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SchedulerConfigError(
      label,
      undefined,
      `expected a JSON object (scheduler_config.json), got ${describe(json)}`,
    );
  }
  const obj = json as Record<string, unknown>;
  const names = Object.keys(spec.defaults) as (keyof C & string)[];
  const byJsonKey = new Map<string, keyof C & string>();
  for (const name of names) byJsonKey.set(fieldOf(spec, name).key, name);
  const known = knownJsonKeys(spec);

  const config = { ...spec.defaults } as C;
  const extra: Record<string, unknown> = {};
  const warnings: string[] = [];
  let className: string | undefined;
  let diffusersVersion: string | undefined;

  for (const [key, value] of Object.entries(obj)) {
    if (key === "_class_name" || key === "_diffusers_version") {
      if (typeof value !== "string") {
        throw new SchedulerConfigError(label, key, `expected a string, got ${describe(value)}`);
      }
      if (key === "_class_name") className = value;
      else diffusersVersion = value;
      continue;
    }
    const name = byJsonKey.get(key);
    if (name !== undefined) {
      (config as Record<string, unknown>)[name] = checkFieldValue(
        fieldOf(spec, name),
        value,
        label,
        key,
      );
      continue;
    }
    extra[key] = value;
    if (key.startsWith("_")) continue; // diffusers-private bookkeeping, e.g. _use_default_values
    warnings.push(
      known.has(key)
        ? `${label}: "${key}" is not an option of ${spec.className}; kept in extra, not used`
        : `${label}: unknown key "${key}"; kept in extra, not used`,
    );
  }
  // diffusers' from_config fills what a file written for another class lacks with this class's
  // defaults; an on-by-default switch (DDIM's clip_sample) then changes results unseen
  if (className !== undefined && className !== spec.className) {
    for (const name of names) {
      const key = fieldOf(spec, name).key;
      if (spec.defaults[name] === true && !Object.hasOwn(obj, key)) {
        warnings.push(
          `${label}: "${key}" is not set (the file was written for ${className}); ${spec.className}'s default true applies, as in diffusers' from_config`,
        );
      }
    }
  }
  return { config, className, diffusersVersion, extra, warnings, source };
}

/**
 * Completes camelCase constructor options with the class defaults, checking each given value
 * as {@link parseSchedulerConfig} does. Options that the class does not have are errors here
 * (this is code, not a file: a typo must fail loudly).
 *
 * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSchedulerConfig } from "./config_json.ts";
 * import type { SchedulerConfig, SchedulerSpec } from "./config.ts";
 * const spec: SchedulerSpec<Pick<SchedulerConfig, "stepsOffset" | "clipSample">> = {
 *   className: "X",
 *   defaults: { stepsOffset: 0, clipSample: true },
 * };
 * assert.deepEqual(resolveSchedulerConfig(spec, { clipSample: false }), { stepsOffset: 0, clipSample: false });
 * ```
 */
export function resolveSchedulerConfig<C extends object>(
  spec: SchedulerSpec<C>,
  options: Partial<C> = {},
): C {
  const label = `new ${spec.className}()`;
  const config = { ...spec.defaults } as C;
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(spec.defaults, name)) {
      throw new SchedulerConfigError(
        label,
        name,
        `not an option of ${spec.className} (options: ${Object.keys(spec.defaults).join(", ")})`,
      );
    }
    (config as Record<string, unknown>)[name] = checkFieldValue(
      fieldOf(spec, name as keyof C),
      value,
      label,
      name,
    );
  }
  return config;
}

/**
 * The diffusers `scheduler.config` JSON of a typed config: snake_case keys in the class's
 * `__init__` order, preceded by `_class_name` and `_diffusers_version` when given, followed by
 * the kept `extra` keys. The inverse of {@link parseSchedulerConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toDiffusersConfig } from "./config_json.ts";
 * import type { SchedulerConfig, SchedulerSpec } from "./config.ts";
 * const spec: SchedulerSpec<Pick<SchedulerConfig, "stepsOffset">> = {
 *   className: "X",
 *   defaults: { stepsOffset: 0 },
 * };
 * assert.deepEqual(toDiffusersConfig(spec, { stepsOffset: 1 }, { diffusersVersion: "0.42.1" }), {
 *   _class_name: "X",
 *   _diffusers_version: "0.42.1",
 *   steps_offset: 1,
 * });
 * ```
 */
export function toDiffusersConfig<C extends object>(
  spec: SchedulerSpec<C>,
  config: C,
  origin: Partial<ConfigOrigin> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { _class_name: spec.className };
  if (origin.diffusersVersion !== undefined) out._diffusers_version = origin.diffusersVersion;
  for (const name of Object.keys(spec.defaults) as (keyof C & string)[]) {
    const value = config[name];
    out[fieldOf(spec, name).key] = Array.isArray(value) ? [...value] : value;
  }
  for (const [key, value] of Object.entries(origin.extra ?? {})) {
    if (!(key in out)) out[key] = value;
  }
  return out;
}
