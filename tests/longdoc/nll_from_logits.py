"""Perplexity of a token sequence from `floe logits` output, computed independently of floe:
row i of LOGITS (float32, VOCAB per row) predicts token i+1 of TOKENS (one id per line).
Prints the mean NLL (nats) and the perplexity."""
import math
import struct
import sys

logits_path, tokens_path, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = [int(x) for x in open(tokens_path).read().split()]
data = open(logits_path, "rb").read()
rows = len(data) // (4 * vocab)
assert rows == len(ids), (rows, len(ids))
total = 0.0
for i in range(len(ids) - 1):
    row = struct.unpack_from("<%df" % vocab, data, 4 * vocab * i)
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    total += lse - row[ids[i + 1]]
n = len(ids) - 1
print("%.10f %.10f" % (total / n, math.exp(total / n)))
