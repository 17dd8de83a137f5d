/**
 * The command line (`deno task verify`, or `deno run -A core/cli.ts <command>`). It wires
 * cases/, core/ and reports/ together; everything here is also callable from mod.ts.
 *
 * Commands: `verify` (the regression gate), `run <case>` (one case, full detail), `compare
 * <ours> <reference>` (another implementation's dumped tensors against a reference), `list`,
 * `report` (re-render index.html from results.json), `cases-json` (export for fixtures/gen),
 * `study digits` (the digit classifier on the models trained on scikit-learn's digits), `study
 * inversion` and `study samplers` (the study files beside the cases).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { type Case, CaseError } from "./harness/case.ts";
import { DEFAULT_DIGIT_CLASSIFIER } from "./harness/case_digit.ts";
import { loadCases } from "./harness/cases_loader.ts";
import { EXECUTION_PROVIDERS } from "./models/provider_names.ts";
import { caseLine, summaryLine } from "./report/console.ts";
import { fmt } from "./results/format.ts";
import { SAMPLERS } from "./schedulers/samplers.ts";
import { writeTextFileAtomic } from "./tensor/atomic_write.ts";

// verify (and through it onnxruntime-node, which needs --allow-ffi) loads only for the
// commands that run models, and the report writer (Observable Plot, linkedom) only for the
// commands that write reports, so `list` and `cases-json` need read/write access alone.
const harness = () => import("./harness/verify.ts");
const writer = () => import("./report/write.ts");

/** A problem with what the user gave (bad option, unreadable file): printed without a trace. */
class UsageError extends Error {}

/**
 * `--update-goldens`: writes each case's free run as its golden reference (never over a
 * diffusers reference). Without `yes` it prints what it would write and exits 2. Returns the
 * number of goldens that could not be written.
 */
async function updateGoldens(
  cases: readonly Case[],
  yes: boolean,
  options: { executionProvider: "cpu"; fallback: boolean; manifest: string | null },
): Promise<number> {
  const { writeGolden } = await import("./harness/free_run.ts");
  const planned: Case[] = [];
  for (const c of cases) {
    try {
      await writeGolden(c, { dryRun: true });
      planned.push(c);
    } catch (err) {
      console.log(`keep   ${c.name.padEnd(18)} ${(err as Error).message}`);
    }
  }
  if (!yes) {
    for (const c of planned) {
      console.log(
        `would write golden ${c.references.onnx} (case ${c.name}: our free run as its reference, ` +
          `metadata golden=true; no torch side)`,
      );
    }
    console.error(
      `nothing written: add --yes to write ${planned.length} golden reference(s)`,
    );
    Deno.exit(2);
  }
  let failed = 0;
  for (const c of planned) {
    try {
      const w = await writeGolden(c, options);
      console.log(
        `wrote golden ${w.path} (case ${c.name}: ${w.steps} model calls, ${w.tensors} tensors)`,
      );
    } catch (err) {
      console.log(`ERROR  ${c.name.padEnd(18)} golden not written: ${(err as Error).message}`);
      failed++;
    }
  }
  return failed;
}

const program = new Command()
  .name("diffparity")
  .description("Reproducibility and parity harness for diffusion samplers")
  .option("--cases <dir>", "folder of *.case.ts files", "cases")
  .showHelpAfterError();

const epOption = () =>
  new Option("--ep <provider>", "execution provider").choices(
    EXECUTION_PROVIDERS as readonly string[],
  ).default("cpu");

program.command("verify")
  .description(
    "run every case against its references; write reports/; exit 1 if any fails or errors",
  )
  .option("--filter <text>", "only cases whose name contains this")
  .addOption(epOption())
  .option("--fallback", "fall back to the CPU provider when the asked one cannot run")
  .addOption(
    new Option("--webgpu-layout <layout>", "WebGPU tensor layout (onnxruntime's preferredLayout)")
      .choices(["default", "NCHW", "NHWC"] as const).default("default" as const),
  )
  .option("--out <dir>", "report folder", "reports")
  .option("--no-hash-check", "skip the sha256 check of models and references against the manifests")
  .option(
    "--update-goldens",
    "write each case's free run as its golden reference (our own run, not diffusers; never over a diffusers reference), then verify",
  )
  .option("--yes", "with --update-goldens: really write (without it, say what would be written)")
  .action(async (opts) => {
    const cases = await loadCases(program.opts().cases, opts.filter);
    if (cases.length === 0) {
      console.error(`no case matches --filter ${JSON.stringify(opts.filter)}`);
      Deno.exit(2);
    }
    const goldenErrors = !opts.updateGoldens ? 0 : await updateGoldens(cases, opts.yes ?? false, {
      executionProvider: opts.ep as "cpu",
      fallback: opts.fallback ?? false,
      manifest: opts.hashCheck ? "fixtures/manifest.json" : null,
    });
    const { verify } = await harness();
    const { writeReport } = await writer();
    const result = await verify({
      cases,
      executionProvider: opts.ep as "cpu",
      fallback: opts.fallback ?? false,
      webgpuLayout: opts.webgpuLayout,
      manifest: opts.hashCheck ? "fixtures/manifest.json" : null,
      onCase: (r) => console.log(caseLine(r)),
    });
    await writeReport(result, opts.out);
    console.log(`\n${summaryLine(result, `${opts.out}/index.html`)}`);
    // a case without reference is neither a pass nor a failure: only fail/error gate
    if (result.failed > 0 || goldenErrors > 0) Deno.exit(1);
  });

program.command("run")
  .description("run one case and print every comparison per step")
  .argument("<case>", "case name")
  .addOption(epOption())
  .option("--fallback", "fall back to the CPU provider when the asked one cannot run")
  .option("--no-hash-check", "skip the sha256 check of models and references against the manifests")
  .option(
    "--update-golden",
    "write the case's free run as its golden reference (our own run, not diffusers), then run",
  )
  .option("--yes", "with --update-golden: really write (without it, say what would be written)")
  .action(async (name, opts) => {
    const cases = (await loadCases(program.opts().cases)).filter((c) => c.name === name);
    if (cases.length === 0) {
      throw new UsageError(`no case named '${name}' in ${program.opts().cases}/`);
    }
    const manifest = opts.hashCheck ? "fixtures/manifest.json" : null;
    const goldenErrors = !opts.updateGolden ? 0 : await updateGoldens(cases, opts.yes ?? false, {
      executionProvider: opts.ep as "cpu",
      fallback: opts.fallback ?? false,
      manifest,
    });
    if (goldenErrors > 0) Deno.exit(1);
    const { verify } = await harness();
    const result = await verify({
      cases,
      executionProvider: opts.ep as "cpu",
      fallback: opts.fallback ?? false,
      manifest,
      onCase: (r) => console.log(caseLine(r)),
    });
    const r = result.cases[0];
    if (r.status === "error") Deno.exit(1); // its line above says what went wrong
    console.log(`provider: ${r.provider}`);
    if (r.status === "noref") {
      console.log(`\nfree run (no reference): per model call`);
      for (const s of r.freeRunSteps ?? []) {
        console.log(
          `  step ${String(s.step).padStart(3)} t=${String(s.t).padStart(4)}  unet ${
            fmt(s.modelMs).padEnd(7)
          } ms  step ${fmt(s.stepMs).padEnd(7)} ms  max|latent| ${fmt(s.absMax)}`,
        );
      }
      return; // not a pass, not a failure
    }
    for (const c of r.comparisons) {
      console.log(`\n${c.kind}: ${c.subject} (${c.reference})`);
      for (const s of c.perStep) {
        console.log(
          `  step ${String(s.step).padStart(3)} t=${String(s.t).padStart(4)}  max|d| ${
            fmt(s.maxAbs).padEnd(9)
          } ulp ${fmt(s.maxUlp).padEnd(7)} relL2 ${fmt(s.relL2)}`,
        );
      }
      console.log(
        `  worst: max|d| ${fmt(c.worst.maxAbs)}, ulp ${fmt(c.worst.maxUlp)}, relL2 ${
          fmt(c.worst.relL2)
        }${c.worst.psnr !== undefined ? `, PSNR ${fmt(c.worst.psnr)} dB` : ""} — ${
          c.pass ? "ok" : c.failures.join("; ")
        }`,
      );
    }
    if (r.status !== "pass") Deno.exit(1);
  });

/** A tolerance bound from the command line: a finite number >= 0. */
function bound(option: string) {
  return (value: string): number => {
    const x = Number(value);
    if (value.trim() === "" || !Number.isFinite(x) || x < 0) {
      throw new UsageError(`${option}: ${JSON.stringify(value)} is not a finite number >= 0`);
    }
    return x;
  };
}

program.command("compare")
  .description(
    "compare per-step tensors dumped by another implementation (a .safetensors file or a folder " +
      "of <name>.npy files: prev_sample.<i>, model_output.<i>, init_latents, latents, " +
      "prompt_embeds, image_u8) with a case reference; exit 1 if any bound fails",
  )
  .argument("<ours>", "the dump: a .safetensors file or a folder of .npy files")
  .argument("<reference>", "a case reference, e.g. fixtures/refs/cases/ddim-eta0.onnx.safetensors")
  .option(
    "--tolerance-max-abs <x>",
    "max |d| bound of latents and model outputs (default 1e-5)",
    bound("--tolerance-max-abs"),
  )
  .option("--max-ulp <n>", "float32 ulp bound of latents and model outputs", bound("--max-ulp"))
  .option("--out <dir>", "also write a report (results.json, junit.xml, index.html) there")
  .action(async (ours, reference, opts) => {
    // only this command reads dumps; loaded on use like the other heavy commands
    const { compareDump, firstFailureLine } = await import("./harness/compare_dump.ts");
    const tolerance = {
      ...(opts.toleranceMaxAbs !== undefined ? { maxAbs: opts.toleranceMaxAbs } : {}),
      ...(opts.maxUlp !== undefined ? { maxUlp: opts.maxUlp } : {}),
    };
    let r;
    try {
      r = await compareDump(ours, reference, { tolerance });
    } catch (err) {
      const name = (err as Error).name;
      if (name === "FileError" || name === "CaseReferenceError" || name === "RangeError") {
        throw new UsageError((err as Error).message);
      }
      throw err;
    }
    console.log(caseLine(r));
    console.log(firstFailureLine(r));
    if (opts.out) {
      const { writeReport } = await writer();
      const { RESULTS_FORMAT } = await import("./results/schema.ts");
      const passed = r.status === "pass" ? 1 : 0;
      await writeReport({
        format: RESULTS_FORMAT,
        versions: { deno: Deno.version.deno },
        requestedProvider: r.provider,
        cases: [r],
        passed,
        failed: 1 - passed,
      }, opts.out);
      console.log(`\n${summaryLine({ passed, failed: 1 - passed }, `${opts.out}/index.html`)}`);
    }
    if (r.status !== "pass") Deno.exit(1);
  });

program.command("list")
  .description("list the cases")
  .option("--filter <text>", "only cases whose name contains this")
  .action(async (opts) => {
    const cases = await loadCases(program.opts().cases, opts.filter);
    for (const c of cases) {
      console.log(
        `${c.name.padEnd(18)} ${c.pipeline.padEnd(8)} ${
          SAMPLERS[c.sampler.type].label(c.sampler).padEnd(22)
        } ${c.model.padEnd(26)} ${c.description ?? ""}`,
      );
    }
  });

program.command("report")
  .description("re-render index.html from a results.json")
  .option("--results <file>", "results file", "reports/results.json")
  .option("--out <file>", "HTML file", "reports/index.html")
  .action(async (opts) => {
    const { rerenderHtml } = await writer();
    const result = await rerenderHtml(opts.results, opts.out);
    console.log(`wrote ${opts.out}`);
    for (const r of result.cases) console.log(caseLine(r));
  });

/** A list of integers from the command line: `0-9`, `1,7`, `0-4,9`. */
function integers(option: string, max: number, most = 1000) {
  return (value: string): number[] => {
    const out: number[] = [];
    for (const part of value.split(",")) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
      if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
        throw new UsageError(
          `${option}: ${JSON.stringify(value)} is not a list of integers such as 0-9 or 1,7`,
        );
      }
      const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
      if (to > max) throw new UsageError(`${option}: ${to} is out of range (0 to ${max})`);
      if (out.length + to - from + 1 > most) {
        throw new UsageError(`${option}: ${JSON.stringify(value)} lists more than ${most} values`);
      }
      for (let k = from; k <= to; k++) out.push(k);
    }
    return out;
  };
}

/** A positive integer from the command line, at most `max`. */
function count(option: string, max = 1_000_000) {
  return (value: string): number => {
    const x = Number(value);
    if (!Number.isInteger(x) || x < 1 || x > max) {
      throw new UsageError(
        `${option}: ${JSON.stringify(value)} is not an integer from 1 to ${max}`,
      );
    }
    return x;
  };
}

/**
 * A study's bad input (the study file, a model folder, a changed fixture, a bad scheduler
 * config) as a UsageError (exit 2, named); anything else as it is.
 */
function studyInputError(err: unknown): unknown {
  const named = [
    "StudySpecError",
    "FileError",
    "FixtureHashError",
    "PipelineInputError",
    "SessionSettingsError",
    "SchedulerConfigError",
  ];
  return named.includes((err as Error)?.name) ? new UsageError((err as Error).message) : err;
}

const study = program.command("study")
  .description("studies that sweep the machinery over many settings (digits, inversion, samplers)");

study.command("inversion")
  .description(
    "inversion fidelity (docs/inversion.md): image -> invert -> sample back -> decode for every " +
      "method x steps x guidance of the study file over held-out digits; prints the table, writes " +
      "every figure to study.json and the page with its charts and picture strips",
  )
  .argument("[file]", "the study file", "cases/inversion.study.ts")
  .option(
    "--images <n>",
    "held-out digits per model instead of the study's",
    count("--images", 180),
  )
  .option("--steps <list>", "step counts instead of the study's", integers("--steps", 1000))
  .option(
    "--threads <n>",
    "onnxruntime intra-op threads (default 1, as verify; at most the CPU count)",
    count("--threads", navigator.hardwareConcurrency),
  )
  .option("--out <dir>", "report folder (default reports/study-<name>)")
  .action(async (file, opts) => {
    const { loadStudy } = await import("./harness/cases_loader.ts");
    const { runInversionStudy } = await import("./harness/inversion_study.ts");
    const { inversionStudyLines, writeInversionStudy } = await import(
      "./report/study_inversion.ts"
    );
    let result;
    try {
      const spec = await loadStudy(file, "inversion");
      result = await runInversionStudy(spec, {
        file,
        images: opts.images,
        steps: opts.steps,
        session: opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads },
        onProgress: (line) => console.error(line),
      });
    } catch (err) {
      throw studyInputError(err);
    }
    for (const line of inversionStudyLines(result)) console.log(line);
    const out = opts.out ?? `reports/study-${result.study}`;
    await writeInversionStudy(result, out);
    console.log(`wrote ${out}/index.html`);
  });

study.command("samplers")
  .description(
    "sampler accuracy: every deterministic sampler's final latents against a converged solution " +
      "of the same probability-flow ODE versus steps, with the fitted order next to the " +
      "theoretical one, and every sampler's digit quality, model evaluations and time; prints " +
      "the table, writes study.json and the page with its log-log chart",
  )
  .argument("[file]", "the study file", "cases/samplers.study.ts")
  .option("--seeds <n>", "images per run instead of the study's", count("--seeds", 1000))
  .option("--steps <list>", "step counts instead of the study's", integers("--steps", 10_000))
  .option("--samplers <ids>", "only these sampler ids of the study (comma-separated)")
  .option(
    "--threads <n>",
    "onnxruntime intra-op threads (default 1, as verify; at most the CPU count)",
    count("--threads", navigator.hardwareConcurrency),
  )
  .option("--out <dir>", "report folder (default reports/study-<name>)")
  .action(async (file, opts) => {
    const { loadStudy } = await import("./harness/cases_loader.ts");
    const { runSamplerStudy } = await import("./harness/sampler_study.ts");
    const { samplerStudyLines, writeSamplerStudy } = await import("./report/study_samplers.ts");
    let result;
    try {
      const spec = await loadStudy(file, "samplers");
      result = await runSamplerStudy(spec, {
        file,
        seeds: opts.seeds,
        steps: opts.steps,
        samplers: opts.samplers?.split(",").map((s: string) => s.trim()),
        session: opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads },
        onProgress: (line) => console.error(line),
      });
    } catch (err) {
      throw studyInputError(err);
    }
    for (const line of samplerStudyLines(result)) console.log(line);
    const out = opts.out ?? `reports/study-${result.study}`;
    await writeSamplerStudy(result, out);
    console.log(`wrote ${out}/index.html`);
  });

study.command("digits")
  .description(
    "what 'learned' means for the models trained on scikit-learn's digits: the digit " +
      "classifier's accuracy on held-out real digits (the ceiling), on the prompted model's " +
      "images at guidance 5 (target >= 80%) and 1, and the class histogram and mean top " +
      "probability of the unconditional model's samples (DDPM 1000 and DDIM 50 steps); writes " +
      "the figures and sample grids; exit 1 if a target is missed",
  )
  .option("--sd-model <dir>", "the text-conditioned model folder", "fixtures/models/digits-sd")
  .option("--ddpm-model <dir>", "the unconditional model folder", "fixtures/models/digits-ddpm")
  .option("--classifier <file>", "the digit classifier", DEFAULT_DIGIT_CLASSIFIER)
  .addOption(
    new Option("--only <part>", "run only the prompted (sd) or the unconditional (ddpm) model")
      .choices(["sd", "ddpm"] as const),
  )
  .option("--digits <list>", "digits to prompt for (default 0-9)", integers("--digits", 9))
  .option(
    "--seeds <list>",
    "seeds per digit (default 0-9)",
    integers("--seeds", Number.MAX_SAFE_INTEGER),
  )
  .option("--steps <n>", "DDIM steps of the prompted model (default 50)", count("--steps", 10_000))
  .option("--samples <n>", "unconditional samples (default 200)", count("--samples", 10_000))
  .option(
    "--ddpm-steps <n>",
    "DDPM steps of the unconditional model (default 1000)",
    count("--ddpm-steps", 10_000),
  )
  .option(
    "--ddim-steps <n>",
    "DDIM steps of the unconditional model (default 50)",
    count("--ddim-steps", 10_000),
  )
  .option(
    "--threads <n>",
    "onnxruntime intra-op threads (default 1, as verify; at most the CPU count)",
    count("--threads", navigator.hardwareConcurrency),
  )
  .option("--out <dir>", "report folder", "reports/study-digits")
  .action(async (opts) => {
    const { runDigitsStudy } = await import("./harness/digits_study.ts");
    const { digitsStudyLines, writeDigitsStudy } = await import("./report/study_digits.ts");
    let result;
    try {
      result = await runDigitsStudy({
        classifier: opts.classifier,
        prompted: opts.only === "ddpm" ? null : opts.sdModel,
        unconditional: opts.only === "sd" ? null : opts.ddpmModel,
        digits: opts.digits,
        seeds: opts.seeds,
        steps: opts.steps,
        samples: opts.samples,
        unconditionalRuns: [
          { sampler: "DDPMScheduler", steps: opts.ddpmSteps ?? 1000 },
          { sampler: "DDIMScheduler", steps: opts.ddimSteps ?? 50 },
        ],
        session: opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads },
        onProgress: (line) => console.error(line),
      });
    } catch (err) {
      // bad input (a file, a model folder the study cannot use, a NaN in a run): exit 2, named
      const named = [
        "FileError",
        "FixtureHashError",
        "PipelineInputError",
        "NonFiniteError",
        "SessionSettingsError",
      ];
      if (named.includes((err as Error).name)) throw new UsageError((err as Error).message);
      throw err;
    }
    for (const line of digitsStudyLines(result)) console.log(line);
    await writeDigitsStudy(result, opts.out);
    console.log(`wrote ${opts.out}/index.html`);
    if (!result.pass) Deno.exit(1);
  });

program.command("cases-json")
  .description("export every case as JSON for the Python reference dumper (fixtures/gen)")
  .option("--out <file>", "output file ('-' for stdout)", "-")
  .action(async (opts) => {
    const cases = await loadCases(program.opts().cases);
    const text = JSON.stringify({ cases }, null, 2) + "\n";
    if (opts.out === "-") console.log(text);
    else {
      await writeTextFileAtomic(opts.out, text);
      console.error(`wrote ${cases.length} cases to ${opts.out}`);
    }
  });

if (import.meta.main) {
  try {
    await program.parseAsync(["deno", "diffparity", ...Deno.args]);
  } catch (err) {
    if (
      err instanceof CaseError || err instanceof UsageError ||
      (err instanceof Error && err.name === "ReportError")
    ) {
      console.error(`error: ${err.message}`);
      Deno.exit(2);
    }
    throw err;
  }
}
