#!/usr/bin/env python3
"""Writes tests/runtime/data/bpe_pretokenizer_golden.tsv: how the real pre-tokenizer regexes split
random strings, evaluated by the third-party Python `regex` module (pip/apt: python3-regex),
an engine independent of floe's hand-written matchers (runtime/tokenizers/bpe_pretokenizer.cc).

    python3 tests/runtime/gen_bpe_pretokenizer_golden.py > tests/runtime/data/bpe_pretokenizer_golden.tsv

Each line: the string's UTF-8 in hex, then one column per pre-tokenizer (gpt-2, llama-bpe,
qwen2, smollm, default): the lengths of its pieces in code points, comma-separated ("-" for
none). A stage turns each piece into its matches plus the unmatched stretches between them.
The strings use only code points whose classes are the same in every Unicode version since
14.0 (the one runtime/tokenizers/unicode/unicode_tables.inc comes from) and in the `regex` module's, and
avoid U+001C..U+001F (whitespace to Python's str.isspace, not to \\s here or in llama.cpp).
"""
import random

import regex

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
KINDS = [
    ("gpt-2", [GPT2]),
    ("llama-bpe", [LLAMA3]),
    ("qwen2", [QWEN2]),
    ("smollm", [r"\p{N}", GPT2]),
    ("default", [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"]),
]

POOL = list("abcXYZ  \t\n\r\n019'''sStTrReEvVmMlLdD.,!?-_()[]$+<=>^~|`@#%&*/\\\"{}:;") + [
    "\u00e9", "\u0436", "\u4e2d", "\u00df", "\u0301", "\u00a0", "\u3000", "\u2003", "\u0085",
    "\u20ac", "\u00a9", "\U0001F600", "\u200b", "\u0663", "\u00bd", "\u216b", "\u00b2", "\u300d",
    "\u3001", "\u000b", "\u000c", "\u2028", "\u01c5", "\u02b0", "\u0378", "\u0000", "\u007f"]


def split(s, stages):
    pieces = [s]
    for rx in stages:
        compiled = regex.compile(rx)
        out = []
        for p in pieces:
            last = 0
            for m in compiled.finditer(p):
                if m.start() > last:
                    out.append(p[last:m.start()])
                out.append(m.group())
                last = m.end()
            if last < len(p):
                out.append(p[last:])
        pieces = out
    return pieces


def main():
    rng = random.Random(20240601)
    for i in range(800):
        s = "".join(rng.choice(POOL) for _ in range(rng.randint(1, 20)))
        cols = [s.encode("utf-8").hex()]
        for _, stages in KINDS:
            cols.append(",".join(str(len(p)) for p in split(s, stages)) or "-")
        print("\t".join(cols))


if __name__ == "__main__":
    main()
