import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration } from "./duration.ts";

test("parseDuration() reads protobuf JSON duration strings", () => {
  assert.deepEqual(parseDuration("5s"), { ok: true, ms: 5000 });
  assert.deepEqual(parseDuration("0s"), { ok: true, ms: 0 });
  assert.deepEqual(parseDuration("0.25s"), { ok: true, ms: 250 });
  assert.deepEqual(parseDuration("1.5s"), { ok: true, ms: 1500 });
  assert.deepEqual(parseDuration("3600s"), { ok: true, ms: 3_600_000 });
  assert.deepEqual(parseDuration("0.001s"), { ok: true, ms: 1 });
  assert.deepEqual(parseDuration("0.0005s"), { ok: true, ms: 0.5 });
  assert.deepEqual(parseDuration("1.000000001s"), { ok: true, ms: 1000.000001 });
});

test("parseDuration() reads the message form {seconds, nanos}", () => {
  assert.deepEqual(parseDuration({ seconds: 5 }), { ok: true, ms: 5000 });
  assert.deepEqual(parseDuration({ seconds: "2", nanos: 500_000_000 }), { ok: true, ms: 2500 });
  assert.deepEqual(parseDuration({ nanos: 250_000_000 }), { ok: true, ms: 250 });
  assert.deepEqual(parseDuration({}), { ok: true, ms: 0 });
});

test("parseDuration() rejects what protobuf JSON rejects, with a hint", () => {
  assert.deepEqual(parseDuration("5"), { ok: false, message: 'must be a duration such as "5s" or "0.25s", got "5"' });
  assert.deepEqual(parseDuration("5ms"), {
    ok: false,
    message: 'must be a duration in seconds such as "0.005s", got "5ms"',
  });
  assert.deepEqual(parseDuration("2m"), {
    ok: false,
    message: 'must be a duration in seconds such as "120s", got "2m"',
  });
  assert.deepEqual(parseDuration("1h"), {
    ok: false,
    message: 'must be a duration in seconds such as "3600s", got "1h"',
  });
  assert.deepEqual(parseDuration(".5s"), {
    ok: false,
    message: 'must be a duration such as "5s" or "0.25s", got ".5s"',
  });
  assert.deepEqual(parseDuration("5 s"), {
    ok: false,
    message: 'must be a duration such as "5s" or "0.25s", got "5 s"',
  });
  assert.deepEqual(parseDuration("1.5S"), {
    ok: false,
    message: 'must be a duration such as "5s" or "0.25s", got "1.5S"',
  });
  assert.deepEqual(parseDuration(""), { ok: false, message: 'must be a duration such as "5s" or "0.25s", got ""' });
  assert.deepEqual(parseDuration("0.1234567891s"), {
    ok: false,
    message: 'must have at most 9 fractional digits (nanoseconds), got "0.1234567891s"',
  });
});

test("parseDuration() rejects negative and out-of-range durations", () => {
  assert.deepEqual(parseDuration("-1s"), { ok: false, message: 'must not be negative, got "-1s"' });
  assert.deepEqual(parseDuration({ seconds: -1 }), { ok: false, message: "must not be negative" });
  assert.deepEqual(parseDuration("315576000001s"), { ok: false, message: 'is out of range, got "315576000001s"' });
});

test("parseDuration() rejects numbers and other types", () => {
  assert.deepEqual(parseDuration(5), { ok: false, message: 'must be a duration string such as "5s", got 5' });
  assert.deepEqual(parseDuration(0.25), { ok: false, message: 'must be a duration string such as "0.25s", got 0.25' });
  assert.deepEqual(parseDuration(true), {
    ok: false,
    message: 'must be a duration string such as "5s" or "0.25s", got true',
  });
  assert.deepEqual(parseDuration(null), {
    ok: false,
    message: 'must be a duration string such as "5s" or "0.25s", got null',
  });
  assert.deepEqual(parseDuration(["5s"]), {
    ok: false,
    message: 'must be a duration string such as "5s" or "0.25s", got a list',
  });
});

test("parseDuration() checks the fields of the message form", () => {
  assert.deepEqual(parseDuration({ seconds: 1.5 }), {
    ok: false,
    message: "seconds must be an integer from 0 to 315576000000, got 1.5",
  });
  assert.deepEqual(parseDuration({ seconds: 1, nanos: 1_000_000_000 }), {
    ok: false,
    message: "nanos must be an integer from 0 to 999999999, got 1000000000",
  });
  assert.deepEqual(parseDuration({ seconds: 1, millis: 5 }), {
    ok: false,
    message: 'unknown field "millis" in duration; expected seconds and nanos',
  });
});
