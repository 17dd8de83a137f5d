/**
 * Malformed .safetensors and .npy files: each must be rejected with a FileError whose
 * message names the file and the field at fault; nothing else may be thrown, nothing may
 * hang or allocate beyond the file's size.
 */
import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { encodeNpy, parseNpy, readNpy } from "../../core/tensor/npy.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const FILE = "corrupt.safetensors";
const NPY = "corrupt.npy";

/** A safetensors image: header length (default: the true one), header text, data bytes. */
function st(
  header: string | object | Uint8Array,
  dataBytes = 0,
  lengthOverride?: bigint,
): Uint8Array {
  const text = header instanceof Uint8Array
    ? header
    : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

const u8 = (begin: number, end: number, shape = [end - begin]) => ({
  dtype: "U8",
  shape,
  data_offsets: [begin, end],
});

/** [description, bytes, field expected in the error, words expected in the message] */
const SAFETENSORS_CASES: [string, Uint8Array, string, RegExp][] = [
  ["empty file", new Uint8Array(0), "header length", /8-byte/],
  ["truncated inside the length", new Uint8Array([16, 0, 0]), "header length", /3 bytes/],
  ["header length beyond the file", st({ a: u8(0, 1) }, 1, 4096n), "header length", /past the end/],
  ["header length 2^63", st({}, 0, 2n ** 63n), "header length", /too large/],
  ["header length just over 100 MB", st({}, 0, 100_000_001n), "header length", /too large/],
  ["lying length cuts the JSON", st({ a: u8(0, 4) }, 4, 20n), "header", /not valid JSON/],
  [
    "lying length swallows data",
    st({ a: u8(0, 1) }, 1, BigInt(JSON.stringify({ a: u8(0, 1) }).length + 1)),
    "header",
    /not valid JSON/,
  ],
  ["bad JSON", st('{"a": {"dtype": "U8",'), "header", /not valid JSON/],
  [
    "invalid UTF-8",
    st(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), // {"\xff":1}
    "header",
    /not valid UTF-8/,
  ],
  ["header is an array", st("[1, 2]"), "header", /an array.*expected a JSON object/],
  ["header is null", st("null"), "header", /null/],
  ["entry is a number", st({ a: 3 }), "a", /expected an object/],
  ["dtype missing", st({ a: { shape: [1], data_offsets: [0, 1] } }, 1), "a.dtype", /missing/],
  [
    "dtype unknown",
    st({ a: { ...u8(0, 1), dtype: "F128" } }, 1),
    "a.dtype",
    /unknown dtype "F128"/,
  ],
  ["dtype not a string", st({ a: { ...u8(0, 1), dtype: 8 } }, 1), "a.dtype", /a number/],
  ["shape missing", st({ a: { dtype: "U8", data_offsets: [0, 1] } }, 1), "a.shape", /missing/],
  ["shape is a string", st({ a: { ...u8(0, 1), shape: "1" } }, 1), "a.shape", /a string/],
  ["shape holds a float", st({ a: u8(0, 1, [1.5]) }, 1), "a.shape", /1\.5/],
  ["shape holds a string", st({ a: u8(0, 1, ["1"] as unknown as number[]) }, 1), "a.shape", /"1"/],
  ["negative extent", st({ a: u8(0, 1, [-1]) }, 1), "a.shape", /-1/],
  ["extent beyond 2^53", st({ a: u8(0, 1, [2 ** 60]) }, 1), "a.shape", /non-negative integer/],
  [
    "huge shape [2^40, 2^40]",
    st({ a: u8(0, 1, [2 ** 40, 2 ** 40]) }, 1),
    "a.shape",
    /needs 1208925819614629174706176 bytes/,
  ],
  [
    "shape x dtype != span",
    st({ a: { ...u8(0, 8), dtype: "F32" } }, 8),
    "a.shape",
    /\[8\] of F32 needs 32 bytes but data_offsets \[0, 8\] span 8/,
  ],
  [
    "F4 leaves half a byte",
    st({ a: { ...u8(0, 2, [3]), dtype: "F4" } }, 2),
    "a.shape",
    /whole bytes/,
  ],
  ["offsets missing", st({ a: { dtype: "U8", shape: [1] } }, 1), "a.data_offsets", /missing/],
  [
    "offsets are strings",
    st({ a: { ...u8(0, 1), data_offsets: ["0", "1"] } }, 1),
    "a.data_offsets",
    /expected \[begin, end\]/,
  ],
  [
    "three offsets",
    st({ a: { ...u8(0, 1), data_offsets: [0, 1, 2] } }, 1),
    "a.data_offsets",
    /\[0,1,2\]/,
  ],
  [
    "end before begin",
    st({ a: { ...u8(0, 1), data_offsets: [2, 1] } }, 2),
    "a.data_offsets",
    /before begin/,
  ],
  [
    "overlapping tensors",
    st({ a: u8(0, 2), b: u8(1, 3) }, 3),
    "b.data_offsets",
    /overlaps the end of tensor "a"/,
  ],
  ["same range twice", st({ a: u8(0, 2), b: u8(0, 2) }, 2), "data_offsets", /overlaps/],
  ["gap between tensors", st({ a: u8(0, 1), b: u8(2, 3) }, 3), "b.data_offsets", /gap/],
  ["first tensor not at 0", st({ a: u8(4, 5) }, 5), "a.data_offsets", /gap after the start/],
  [
    "offsets past the end",
    st({ a: u8(0, 64) }, 8),
    "a.data_offsets",
    /past the end of the 8-byte data/,
  ],
  ["trailing bytes", st({ a: u8(0, 1) }, 5), "data", /4 bytes after the last tensor/],
  ["data but no tensors", st({}, 3), "data", /3 bytes after/],
  [
    "metadata value a number",
    st({ __metadata__: { k: 1 }, a: u8(0, 1) }, 1),
    "__metadata__.k",
    /a number.*expected a string/,
  ],
  ["metadata a string", st({ __metadata__: "x" }), "__metadata__", /a string/],
  ["metadata an array", st({ __metadata__: ["x"] }), "__metadata__", /an array/],
];

Deno.test(`rejects ${SAFETENSORS_CASES.length} distinct safetensors corruptions`, () => {
  for (const [what, bytes, field, words] of SAFETENSORS_CASES) {
    assert.throws(
      () => parseSafetensors(bytes, FILE),
      (e: unknown) => {
        assert.ok(e instanceof FileError, `${what}: ${e}`);
        assert.equal(e.file, FILE, what);
        assert.ok(e.field?.endsWith(field), `${what}: field ${e.field}, expected ${field}`);
        assert.ok(e.message.startsWith(`${FILE}: ${e.field}: `), `${what}: ${e.message}`);
        assert.match(e.message, words, what);
        return true;
      },
      what,
    );
  }
});

/** An npy image from a header text (padded as numpy does) and data bytes. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const text = new TextEncoder().encode(header + "\n");
  const lengthBytes = version === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lengthBytes + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, 8 + lengthBytes);
  out.set(data, 8 + lengthBytes + text.length);
  return out;
}
const dict = (descr: string, shape: string, fortran = "False") =>
  `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
const F4x2 = new Uint8Array(8);
const goodNpy = npy(dict("'<f4'", "(2,)"), F4x2);

function withVersion(major: number, minor: number): Uint8Array {
  const b = goodNpy.slice();
  b[6] = major;
  b[7] = minor;
  return b;
}

const NPY_CASES: [string, Uint8Array, string, RegExp][] = [
  ["empty file", new Uint8Array(0), "magic", /NUMPY/],
  ["bad magic", new TextEncoder().encode("\x93NUMPZ\x01\x00\x00\x00"), "magic", /NUMPY/],
  ["a safetensors file", encodeSafetensors({ a: Tensor.zeros([1]) }), "magic", /not an \.npy/],
  ["version 4.0", withVersion(4, 0), "version", /4\.0.*expected 1\.0, 2\.0 or 3\.0/],
  ["version 1.1", withVersion(1, 1), "version", /1\.1/],
  ["truncated header length", goodNpy.slice(0, 9), "header length", /2-byte header length/],
  [
    "header length beyond file",
    (() => {
      const b = goodNpy.slice();
      new DataView(b.buffer).setUint16(8, 60000, true);
      return b;
    })(),
    "header length",
    /past the end/,
  ],
  ["header not a dict", npy("[1, 2]", F4x2), "header", /expected '\{'/],
  ["unterminated dict", npy("{'descr': '<f4', ", F4x2), "header", /./],
  ["unterminated string", npy("{'descr: '<f4'}", F4x2), "header", /./],
  [
    "missing shape key",
    npy("{'descr': '<f4', 'fortran_order': False}", F4x2),
    "header",
    /keys \[descr, fortran_order\]/,
  ],
  [
    "extra key",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", F4x2),
    "header",
    /expected exactly/,
  ],
  [
    "duplicate key",
    npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", F4x2),
    "header",
    /twice/,
  ],
  ["text after the dict", npy(dict("'<f4'", "(2,)") + " junk", F4x2), "header", /after the dict/],
  ["unknown descr", npy(dict("'<c8'", "(1,)"), F4x2), "descr", /"<c8" is not supported/],
  ["object dtype |O", npy(dict("'|O'", "(1,)"), F4x2), "descr", /object \(pickled\)/],
  ["no byte order", npy(dict("'f4'", "(2,)"), F4x2), "descr", /byte-order/],
  ["|f4", npy(dict("'|f4'", "(2,)"), F4x2), "descr", /no byte order/],
  ["descr not a string", npy(dict("3", "(2,)"), F4x2), "descr", /not a string/],
  ["structured descr", npy(dict("[('a', '<f4')]", "(2,)"), F4x2), "header", /structured/],
  [
    "fortran_order not a bool",
    npy(dict("'<f4'", "(2,)", "0"), F4x2),
    "fortran_order",
    /True or False/,
  ],
  ["shape an int", npy(dict("'<f4'", "2"), F4x2), "shape", /not a tuple/],
  ["shape (2) is an int", npy(dict("'<f4'", "(2)"), F4x2), "shape", /not a tuple/],
  ["shape holds a float", npy(dict("'<f4'", "(2.0,)"), F4x2), "header", /',' or '\)'/],
  ["negative extent", npy(dict("'<f4'", "(-2,)"), F4x2), "shape", /negative extent -2/],
  [
    "data shorter than shape",
    npy(dict("'<f4'", "(3,)"), F4x2),
    "data",
    /needs 12 bytes but the file holds 8/,
  ],
  [
    "huge shape",
    npy(dict("'<f8'", "(1099511627776, 1099511627776)"), F4x2),
    "data",
    /needs 9671406556917033397649408 bytes/,
  ],
  ["huge digits", npy(dict("'<f4'", `(${"9".repeat(60)},)`), F4x2), "data", /needs/],
  ["trailing bytes", npy(dict("'<f4'", "(1,)"), F4x2), "data", /4 bytes after/],
  [
    "v3 header not UTF-8",
    (() => {
      const b = npy(dict("'<f4'", "(2,)"), F4x2, 3);
      b[14] = 0xff;
      return b;
    })(),
    "header",
    /UTF-8/,
  ],
];

Deno.test(`rejects ${NPY_CASES.length} distinct npy corruptions`, () => {
  assert.equal(parseNpy(goodNpy).data.length, 2); // the base image is valid
  for (const [what, bytes, field, words] of NPY_CASES) {
    assert.throws(
      () => parseNpy(bytes, NPY),
      (e: unknown) => {
        assert.ok(e instanceof FileError, `${what}: ${e}`);
        assert.equal(e.file, NPY, what);
        assert.equal(e.field, field, `${what}: ${e.message}`);
        assert.ok(e.message.startsWith(`${NPY}: ${field}: `), `${what}: ${e.message}`);
        assert.match(e.message, words, what);
        return true;
      },
      what,
    );
  }
});

/** Deterministic xorshift32 for the fuzz loops. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** Runs `parse` and requires a clean result or a FileError, nothing else. */
function parsesOrRejects(parse: () => unknown, what: string): boolean {
  try {
    parse();
    return true;
  } catch (e) {
    assert.ok(e instanceof FileError, `${what}: ${e instanceof Error ? e.stack : e}`);
    return false;
  }
}

const validSt = encodeSafetensors({
  w: new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
  h: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0x4000]) },
  i: { dtype: "I64", shape: [1], data: new BigInt64Array([7n]) },
}, { k: "v" });
const validNpy = encodeNpy(new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]));

Deno.test("every truncation of a valid file is rejected with a FileError", () => {
  for (const [bytes, parse] of [[validSt, parseSafetensors], [validNpy, parseNpy]] as const) {
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(parsesOrRejects(() => parse(bytes.slice(0, n), "t"), `prefix ${n}`), false);
    }
    assert.ok(parsesOrRejects(() => parse(bytes, "t"), "whole file"));
  }
});

Deno.test("random byte corruption yields a valid file or a FileError, never a crash", () => {
  const next = rng(2024);
  for (
    const [bytes, parse, reader] of [
      [
        validSt,
        parseSafetensors,
        (f: ReturnType<typeof parseSafetensors>) => f.names().forEach((n) => f.tensor(n)),
      ],
      [validNpy, parseNpy, () => {}],
    ] as const
  ) {
    for (let trial = 0; trial < 1500; trial++) {
      const b = bytes.slice();
      const flips = 1 + (next() % 3);
      for (let k = 0; k < flips; k++) b[next() % Math.min(b.length, 160)] = next() & 0xff;
      parsesOrRejects(() => {
        const parsed = parse(b, "fuzz");
        (reader as (x: unknown) => void)(parsed);
      }, `trial ${trial}`);
    }
  }
});

Deno.test("readSafetensors / readNpy name the path, also for missing files", async () => {
  const dir = await Deno.makeTempDir();
  const stPath = `${dir}/bad.safetensors`;
  const npyPath = `${dir}/bad.npy`;
  await Deno.writeFile(stPath, SAFETENSORS_CASES[2][1]);
  await Deno.writeFile(npyPath, NPY_CASES[1][1]);
  for (
    // Each read starts only when awaited: a rejection created early and awaited later would be
    // an unhandled rejection in between.
    const [read, path] of [
      [() => readSafetensors(stPath), stPath],
      [() => readNpy(npyPath), npyPath],
      [() => readSafetensors(`${dir}/missing.safetensors`), `${dir}/missing.safetensors`],
      [() => readNpy(`${dir}/missing.npy`), `${dir}/missing.npy`],
    ] as const
  ) {
    await assert.rejects(read(), (e: unknown) => {
      assert.ok(e instanceof FileError);
      assert.equal(e.file, path);
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      return true;
    });
  }
});
