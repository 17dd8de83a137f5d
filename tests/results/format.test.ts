import assert from "node:assert/strict";
import { fmt } from "../../core/results/format.ts";

Deno.test("fmt prints integers plainly and small numbers in 3-digit exponent form", () => {
  assert.equal(fmt(0), "0");
  assert.equal(fmt(17), "17");
  assert.equal(fmt(0.000312345), "3.12e-4");
  assert.equal(fmt(0.5), "0.5");
  assert.equal(fmt(416.4), "416");
  assert.equal(fmt(Infinity), "Inf");
  assert.equal(fmt(0.99999), "0.99999", "a bound just under 1 keeps its digits");
  assert.equal(fmt(0.9999999999), "1", "beyond 9 digits it rounds");
});

Deno.test("fmt writes NaN and negative infinity by name, and huge numbers in exponent form", () => {
  assert.equal(fmt(NaN), "NaN");
  assert.equal(fmt(-Infinity), "-Inf");
  assert.equal(fmt(123456.7), "1.23e5");
  assert.equal(fmt(-0.0004567), "-4.57e-4");
});
