"""The sliding-window NLLs of a document, computed independently of floe longdoc from `floe
logits` files of each window: window w covers ids[start_w : start_w + W]; its row i predicts
ids[start_w + i + 1]. Prints the mean NLL over every position 1..n-1, each taken from the window
floe longdoc uses for it (the first window predicts 1..W-1, window k >= 1 starting at k*S
predicts its last S positions).
Usage: sliding_from_logits.py IDS W S VOCAB LOGITS_0 LOGITS_1 ..."""
import math
import struct
import sys

ids = [int(x) for x in open(sys.argv[1]).read().split()]
W, S, vocab = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
files = sys.argv[5:]
total, count = 0.0, 0
for p in range(1, len(ids)):
    k = 0 if p < W else (p - W) // S + 1
    start = k * S
    data = open(files[k], "rb").read()
    row = struct.unpack_from("<%df" % vocab, data, 4 * vocab * (p - 1 - start))
    m = max(row)
    total += m + math.log(sum(math.exp(x - m) for x in row)) - row[ids[p]]
    count += 1
print("%.10f %d" % (total / count, count))
