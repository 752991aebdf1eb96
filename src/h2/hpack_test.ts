import { test } from "node:test";
import assert from "node:assert/strict";
import { HeaderListTooLargeError, type HeaderList, HpackDecoder, HpackEncoder, HpackError, STATIC_TABLE } from "./hpack.ts";
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode } from "./huffman.ts";

/** "8286 8441" → bytes; spaces ignored, as in the RFC's hex dumps. */
function hex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function huff(s: string): string {
  const b = hex(s);
  return huffmanDecode(b, 0, b.length);
}

/** A bit-by-bit Huffman encoder from the table, independent of the decoder's state machine. */
function huffmanEncode(syms: number[]): Uint8Array {
  const bits: number[] = [];
  for (const s of syms) {
    for (let i = HUFFMAN_LENGTHS[s]! - 1; i >= 0; i--) bits.push((HUFFMAN_CODES[s]! >>> i) & 1);
  }
  while (bits.length % 8) bits.push(1); // EOS prefix padding
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < bits.length; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

// --- Huffman table and decoder ---

test("huffman table: 257 codes, complete (Kraft sum exactly 1) and canonical", () => {
  assert.equal(HUFFMAN_CODES.length, 257);
  assert.equal(HUFFMAN_LENGTHS.length, 257);
  // Sum of 2^-len, scaled by 2^30 (the longest code) so the arithmetic is exact integers.
  let sum = 0;
  for (const len of HUFFMAN_LENGTHS) sum += 2 ** (30 - len);
  assert.equal(sum, 2 ** 30);
  // RFC 7541's code is canonical: sorted by (length, symbol), codes count up, shifting at each new length.
  const order = [...HUFFMAN_LENGTHS.keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  let code = 0;
  let len = HUFFMAN_LENGTHS[order[0]!]!;
  for (const sym of order) {
    code *= 2 ** (HUFFMAN_LENGTHS[sym]! - len);
    len = HUFFMAN_LENGTHS[sym]!;
    assert.equal(HUFFMAN_CODES[sym], code, `symbol ${sym}`);
    code++;
  }
  assert.equal(HUFFMAN_CODES[EOS], 0x3fffffff);
  assert.equal(HUFFMAN_LENGTHS[EOS], 30);
});

test("huffman: RFC 7541 C.4 and C.6 strings", () => {
  assert.equal(huff("f1e3 c2e5 f23a 6ba0 ab90 f4ff"), "www.example.com");
  assert.equal(huff("a8eb 1064 9cbf"), "no-cache");
  assert.equal(huff("25a8 49e9 5ba9 7d7f"), "custom-key");
  assert.equal(huff("25a8 49e9 5bb8 e8b4 bf"), "custom-value");
  assert.equal(huff("6402"), "302");
  assert.equal(huff("640e ff"), "307");
  assert.equal(huff("aec3 771a 4b"), "private");
  assert.equal(huff("d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"), "Mon, 21 Oct 2013 20:13:21 GMT");
  assert.equal(huff("9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"), "https://www.example.com");
  assert.equal(huff("9bd9 ab"), "gzip");
  assert.equal(
    huff("94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"),
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
  );
  assert.equal(huff(""), "");
});

test("huffman: every octet 0..255 round-trips, alone and all together, in a subrange", () => {
  for (let s = 0; s < 256; s++) {
    const b = huffmanEncode([s]);
    assert.equal(huffmanDecode(b, 0, b.length), String.fromCharCode(s), `symbol ${s}`);
  }
  const up = [...Array(256).keys()];
  const down = [...up].reverse();
  const b = huffmanEncode([...up, ...down]);
  const framed = Uint8Array.of(0xaa, ...b, 0x55);
  const want = String.fromCharCode(...up, ...down);
  assert.equal(huffmanDecode(framed, 1, framed.length - 1), want);
});

test("huffman: EOS, padding over 7 bits, and padding with a zero bit are errors", () => {
  assert.throws(() => huff("ffff ffff"), /EOS/); // 30 ones = EOS, then 2 bits of padding
  assert.throws(() => huff("1fff ffff ff"), /EOS/); // 'a' (00011), then EOS
  assert.throws(() => huff("ff"), /longer than 7/); // 8 bits of padding, no symbol
  assert.throws(() => huff("07ff"), /longer than 7/); // '0' + 11 one bits
  assert.throws(() => huff("06"), /not a prefix of EOS/); // '0' + padding 110
  assert.throws(() => huff("00"), /not a prefix of EOS/); // '0' + padding 000
  assert.throws(() => huff("fe"), HpackError); // 7 ones then a zero: a code prefix, not padding
  assert.equal(huff("07"), "0"); // '0' + padding 111: fine
  assert.equal(huff("1f"), "a"); // 'a' + padding 111: fine
});

// --- Decoder: RFC 7541 Appendix C ---

test("static table: 61 entries, Appendix A", () => {
  assert.equal(STATIC_TABLE.length, 61);
  assert.deepEqual(STATIC_TABLE[0], [":authority", ""]);
  assert.deepEqual(STATIC_TABLE[15], ["accept-encoding", "gzip, deflate"]);
  assert.deepEqual(STATIC_TABLE[60], ["www-authenticate", ""]);
});

test("C.2.1 literal header field with indexing", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")), [
    ["custom-key", "custom-header"],
  ]);
  assert.deepEqual(d.dynamicTableEntries(), [["custom-key", "custom-header"]]);
  assert.equal(d.dynamicTableSize, 55);
});

test("C.2.2 literal header field without indexing", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("040c 2f73 616d 706c 652f 7061 7468")), [[":path", "/sample/path"]]);
  assert.deepEqual(d.dynamicTableEntries(), []);
  assert.equal(d.dynamicTableSize, 0);
});

test("C.2.3 literal header field never indexed", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74")), [["password", "secret"]]);
  assert.deepEqual(d.dynamicTableEntries(), []);
});

test("C.2.4 indexed header field", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("82")), [[":method", "GET"]]);
  assert.deepEqual(d.dynamicTableEntries(), []);
});

/** C.3 and C.4: the same three requests on one connection, without and with Huffman coding. */
function requestSeries(blocks: string[]): void {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex(blocks[0]!)), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
  assert.deepEqual(d.dynamicTableEntries(), [[":authority", "www.example.com"]]);
  assert.equal(d.dynamicTableSize, 57);

  assert.deepEqual(d.decode(hex(blocks[1]!)), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ]);
  assert.deepEqual(d.dynamicTableEntries(), [["cache-control", "no-cache"], [":authority", "www.example.com"]]);
  assert.equal(d.dynamicTableSize, 110);

  assert.deepEqual(d.decode(hex(blocks[2]!)), [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ]);
  assert.deepEqual(d.dynamicTableEntries(), [
    ["custom-key", "custom-value"],
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ]);
  assert.equal(d.dynamicTableSize, 164);
}

test("C.3 requests without Huffman coding", () => {
  requestSeries([
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
  ]);
});

test("C.4 requests with Huffman coding", () => {
  requestSeries([
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
  ]);
});

/** C.5 and C.6: three responses with SETTINGS_HEADER_TABLE_SIZE 256, so entries get evicted. */
function responseSeries(blocks: string[]): void {
  const d = new HpackDecoder({ maxTableSize: 256 });
  const date1: [string, string] = ["date", "Mon, 21 Oct 2013 20:13:21 GMT"];
  const location: [string, string] = ["location", "https://www.example.com"];
  const priv: [string, string] = ["cache-control", "private"];

  assert.deepEqual(d.decode(hex(blocks[0]!)), [[":status", "302"], priv, date1, location]);
  assert.deepEqual(d.dynamicTableEntries(), [location, date1, priv, [":status", "302"]]);
  assert.equal(d.dynamicTableSize, 222);

  // (":status", "302") is evicted to make room for (":status", "307").
  assert.deepEqual(d.decode(hex(blocks[1]!)), [[":status", "307"], priv, date1, location]);
  assert.deepEqual(d.dynamicTableEntries(), [[":status", "307"], location, date1, priv]);
  assert.equal(d.dynamicTableSize, 222);

  const date2: [string, string] = ["date", "Mon, 21 Oct 2013 20:13:22 GMT"];
  const cookie: [string, string] = ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"];
  assert.deepEqual(d.decode(hex(blocks[2]!)), [
    [":status", "200"],
    priv,
    date2,
    location,
    ["content-encoding", "gzip"],
    cookie,
  ]);
  assert.deepEqual(d.dynamicTableEntries(), [cookie, ["content-encoding", "gzip"], date2]);
  assert.equal(d.dynamicTableSize, 215);
}

test("C.5 responses without Huffman coding", () => {
  responseSeries([
    `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d`,
    "4803 3330 37c1 c0bf",
    `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31`,
  ]);
});

test("C.6 responses with Huffman coding", () => {
  responseSeries([
    `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    "4883 640e ffc1 c0bf",
    `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
  ]);
});

// --- Decoder: table management ---

test("size updates at the start of a block (two of them) resize and evict", () => {
  const d = new HpackDecoder();
  d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")); // 55 octets
  assert.equal(d.dynamicTableCapacity, 4096);
  // 0x20: size 0 (evicts everything), then 0x3f e1 1f: size 4096 (31 + 97 + 31 * 128), then :method GET.
  assert.deepEqual(d.decode(hex("20 3fe11f 82")), [[":method", "GET"]]);
  assert.equal(d.dynamicTableSize, 0);
  assert.equal(d.dynamicTableCapacity, 4096);
  assert.throws(() => d.decode(hex("be")), HpackError); // the evicted entry is gone
  // A block holding only a size update is valid and yields no fields.
  assert.deepEqual(d.decode(hex("3f 21")), []); // 31 + 33 = 64
  assert.equal(d.dynamicTableCapacity, 64);
});

test("an entry larger than the table empties it, without error", () => {
  const d = new HpackDecoder({ maxTableSize: 100 });
  d.decode(hex("4003 6162 6303 7879 7a")); // abc: xyz, 38 octets
  assert.equal(d.dynamicTableSize, 38);
  const big = "x".repeat(80); // 1 + 80 + 32 > 100
  const block = Uint8Array.of(0x40, 0x01, 0x6e, 0x50, ...new TextEncoder().encode(big));
  assert.deepEqual(d.decode(block), [["n", big]]);
  assert.deepEqual(d.dynamicTableEntries(), []);
  assert.equal(d.dynamicTableSize, 0);
});

test("dynamic entries are referenced by index and by name, and outlive eviction of their source", () => {
  const d = new HpackDecoder({ maxTableSize: 70 });
  d.decode(hex("4003 6162 6303 7879 7a")); // abc: xyz (38)
  // Literal with indexing, name = index 62 (abc), value "uvw": adding it (38) evicts the original.
  assert.deepEqual(d.decode(hex("7e 03 757677 be")), [["abc", "uvw"], ["abc", "uvw"]]);
  assert.deepEqual(d.dynamicTableEntries(), [["abc", "uvw"]]);
  // Never-indexed with a dynamic name (index 62 = 15 + 47).
  assert.deepEqual(d.decode(hex("1f2f 01 71")), [["abc", "q"]]);
});

test("octets 0x80..0xff decode one byte to one char", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("00 01 78 03 80 9f ff")), [["x", "\x80\x9f\xff"]]);
});

// --- Decoder: errors ---

test("error: index 0", () => {
  assert.throws(() => new HpackDecoder().decode(hex("80")), HpackError);
});

test("error: index beyond static + dynamic", () => {
  assert.throws(() => new HpackDecoder().decode(hex("be")), /index 62 is beyond/); // 62, empty dynamic table
  assert.throws(() => new HpackDecoder().decode(hex("0f2f 01 78")), HpackError); // literal name index 62
  const d = new HpackDecoder();
  d.decode(hex("4003 6162 6303 7879 7a"));
  assert.deepEqual(d.decode(hex("be")), [["abc", "xyz"]]);
  assert.throws(() => d.decode(hex("bf")), HpackError); // 63
});

test("error: dynamic table size update above our maximum", () => {
  assert.throws(() => new HpackDecoder().decode(hex("3fe21f")), /exceeds our limit/); // 4097
  assert.throws(() => new HpackDecoder({ maxTableSize: 0 }).decode(hex("21")), HpackError);
  assert.deepEqual(new HpackDecoder({ maxTableSize: 0 }).decode(hex("20 82")), [[":method", "GET"]]);
});

test("error: dynamic table size update after a header field", () => {
  assert.throws(() => new HpackDecoder().decode(hex("82 20")), /after a header field/);
  assert.throws(() => new HpackDecoder().decode(hex("20 82 3f e11f")), HpackError);
});

test("error: integer overflow and overlong integers", () => {
  // 127 + 127 + 127·2^7 + 127·2^14 + 127·2^21 + 15·2^28 > 2^31 - 1
  assert.throws(() => new HpackDecoder().decode(hex("ff ff ff ff ff 0f")), /overflow/);
  // 2^31 - 1 itself is accepted as an integer (then it is an out-of-range index).
  assert.throws(() => new HpackDecoder().decode(hex("ff 80 ff ff ff 07")), /beyond/);
  // Six continuation octets, however small the value.
  assert.throws(() => new HpackDecoder().decode(hex("ff 80 80 80 80 80 00")), /too long/);
  // A string length that overflows.
  assert.throws(() => new HpackDecoder().decode(hex("00 7f ff ff ff ff 0f")), /overflow/);
});

test("error: truncated integer", () => {
  assert.throws(() => new HpackDecoder().decode(hex("ff")), /truncated integer/);
  assert.throws(() => new HpackDecoder().decode(hex("ff 80")), /truncated integer/);
  assert.throws(() => new HpackDecoder().decode(hex("3f")), /truncated integer/);
  assert.throws(() => new HpackDecoder().decode(hex("00 7f")), /truncated integer/); // string length
});

test("error: truncated string", () => {
  assert.throws(() => new HpackDecoder().decode(hex("40 05 61")), /past the end/); // name: 5 octets, 1 present
  assert.throws(() => new HpackDecoder().decode(hex("40 01 61 02 62")), /past the end/); // value
  assert.throws(() => new HpackDecoder().decode(hex("40")), /truncated string/); // no name at all
  assert.throws(() => new HpackDecoder().decode(hex("41")), /truncated string/); // no value
  assert.throws(() => new HpackDecoder().decode(hex("41 85 f1e3")), /past the end/); // Huffman value
});

test("error: Huffman string containing EOS", () => {
  assert.throws(() => new HpackDecoder().decode(hex("41 84 ffffffff")), /EOS/);
});

test("error: Huffman padding longer than 7 bits", () => {
  assert.throws(() => new HpackDecoder().decode(hex("41 81 ff")), /longer than 7/);
  assert.throws(() => new HpackDecoder().decode(hex("41 82 07ff")), /longer than 7/);
});

test("error: Huffman padding with a zero bit", () => {
  assert.throws(() => new HpackDecoder().decode(hex("41 81 06")), /not a prefix of EOS/);
  assert.deepEqual(new HpackDecoder().decode(hex("41 81 07")), [[":authority", "0"]]);
});

test("error: header list larger than maxHeaderListSize, with the table kept in sync", () => {
  // Fields "abc: xyz" count 3 + 3 + 32 = 38 each.
  const d = new HpackDecoder({ maxHeaderListSize: 76 });
  assert.deepEqual(d.decode(hex("4003 6162 6303 7879 7a be")), [["abc", "xyz"], ["abc", "xyz"]]); // exactly 76
  assert.throws(
    () => d.decode(hex("be be 4003 6465 6603 7879 7a")),
    (e: unknown) => e instanceof HpackError && e instanceof HeaderListTooLargeError && e.size === 114 && e.limit === 76,
  );
  // The third field of the rejected block was still inserted: index 62 is now "def: xyz".
  assert.deepEqual(d.decode(hex("be bf")), [["def", "xyz"], ["abc", "xyz"]]);
  assert.throws(() => new HpackDecoder({ maxHeaderListSize: 37 }).decode(hex("4003 6162 6303 7879 7a")), HpackError);
});

test("errors are HpackError (a COMPRESSION_ERROR) and name themselves", () => {
  try {
    new HpackDecoder().decode(hex("80"));
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof HpackError);
    assert.equal((e as Error).name, "HpackError");
    assert.match((e as Error).message, /index 0/);
  }
});

// --- Encoder ---

test("encoder: exact bytes", () => {
  const e = new HpackEncoder();
  // Static name :path (4), raw value: the same bytes as RFC 7541 C.2.2.
  assert.deepEqual(e.encode([[":path", "/sample/path"]]), hex("040c 2f73 616d 706c 652f 7061 7468"));
  // Static name :method (2), even when name and value match a static entry: never indexed forms.
  assert.deepEqual(e.encode([[":method", "GET"]]), hex("02 03 474554"));
  // Literal name.
  assert.deepEqual(
    e.encode([["custom-key", "custom-header"]]),
    hex("00 0a 6375 7374 6f6d 2d6b 6579 0d 6375 7374 6f6d 2d68 6561 6465 72"),
  );
  // Static index 61 does not fit the 4-bit prefix: 15, then 46.
  assert.deepEqual(e.encode([["www-authenticate", ""]]), hex("0f 2e 00"));
  // First static entry of a repeated name: :status is 8.
  assert.deepEqual(e.encode([[":status", "200"]]), hex("08 03 323030"));
  // A 127-octet value needs a continuation octet: 127 = 127 + 0.
  const v = "a".repeat(127);
  assert.deepEqual(e.encode([["age", v]]), Uint8Array.of(0x0f, 0x06, 0x7f, 0x00, ...new Array(127).fill(0x61)));
  assert.deepEqual(e.encode([]), new Uint8Array(0));
});

test("encoder: round trip through the decoder, table untouched", () => {
  const fields: HeaderList = [
    [":method", "CONNECT"],
    [":authority", "127.0.1.3:8080"],
    [":status", "200"],
    ["x-custom", ""],
    ["", "empty name is the caller's business"],
    ["latin1", "caf\xe9 \x80\xff"],
    ["long", "z".repeat(70_000)],
    ["user-agent", "weft"],
  ];
  const d = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
  const block = new HpackEncoder().encode(fields);
  assert.deepEqual(d.decode(block), fields);
  assert.equal(d.dynamicTableSize, 0);
  assert.deepEqual(d.decode(block), fields); // again: nothing depends on state
});

test("encoder: chars above 0xff are rejected", () => {
  assert.throws(() => new HpackEncoder().encode([["x", "caf\u0113"]]), TypeError);
  assert.throws(() => new HpackEncoder().encode([["\u{1f600}", "x"]]), /above 0xff/);
});
