#!/usr/bin/env python3
"""Runs the libFuzzer harnesses one after another and prints a table of what each reached.

Usage: run_fuzzers.py [-j N] BUILD_DIR CORPUS_DIR SECONDS [HARNESS ...]

CORPUS_DIR holds the seeds of make_corpora.py (one folder per harness); each harness fuzzes
into CORPUS_DIR/<harness> (new inputs are added there), with a 10 s per-input timeout and a
2 GiB RSS / malloc limit. Crashing inputs go to CORPUS_DIR/crashes/. Prints one markdown row per
harness: total execs, coverage (cov: edges, ft: features) and corpus size from libFuzzer's last
status line, the coverage when half the execs were done (a plateau: the two agree), and
whether it crashed; a crashing harness's report goes to stderr. Exit status 1 when any harness
crashed.
-j N runs N harnesses at a time (default 1; each libFuzzer process is single-threaded), the rows
still in name order.
"""
import concurrent.futures
import pathlib
import re
import subprocess
import sys
import time

jobs = 1
if len(sys.argv) > 2 and sys.argv[1] == "-j":
    jobs = max(1, int(sys.argv[2]))
    del sys.argv[1:3]
build = pathlib.Path(sys.argv[1]).resolve()
corpus = pathlib.Path(sys.argv[2]).resolve()
seconds = int(sys.argv[3])
here = pathlib.Path(__file__).resolve().parent
binaries = sorted((build / "tests" / "fuzz").glob("fuzz_*"))
binaries += sorted((build / "samples" / "server").glob("fuzz_*"))
binaries = [b for b in binaries if b.is_file() and not b.suffix]
wanted = set(sys.argv[4:])
if wanted:
    binaries = [b for b in binaries if b.name in wanted]
if not binaries:
    sys.exit("run_fuzzers: no harness built (configure with -DFLOE_FUZZ=ON)")
uses_dict = {"fuzz_gguf", "fuzz_gguf_tokenizer", "fuzz_model_load"}
crashes = corpus / "crashes"
crashes.mkdir(parents=True, exist_ok=True)


def fuzz(b):
    """Runs harness B for SECONDS; returns its table row and whether it crashed."""
    work = corpus / b.name
    work.mkdir(parents=True, exist_ok=True)
    largest = max((p.stat().st_size for p in work.iterdir() if p.is_file()), default=0)
    cmd = [str(b), f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
           "-print_final_stats=1", f"-artifact_prefix={crashes}/{b.name}-",
           f"-max_len={max(4096, largest + largest // 8)}", "-len_control=100"]
    if b.name in uses_dict:
        cmd.append(f"-dict={here / 'gguf.dict'}")
    cmd.append(str(work))
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    took = time.time() - t0
    log = p.stdout
    (corpus / f"{b.name}.log").write_text(log)
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", log)
    status = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log, re.M)
    _, cov, ft, corp = status[-1] if status else ("?", "?", "?", "?")
    # Plateau: the coverage when half the executions were done (libFuzzer's status lines).
    half = "?"
    if status:
        last = int(status[-1][0])
        early = [c for n, c, _, _ in status if int(n) <= last // 2]
        half = early[-1] if early else status[0][1]
    crashed = p.returncode != 0
    note = "0" if not crashed else f"**1** (exit {p.returncode}; see {b.name}.log)"
    row = (f"| {b.name} | {took:.0f} | {execs[-1] if execs else '?'} | {half} | {cov} | {ft} | "
           f"{corp} | {note} |")
    if crashed:  # CI keeps only the printed output: show the sanitizer's report, not just a name
        report = [l for l in log.splitlines() if not l.startswith("#")][-40:]
        sys.stderr.write(f"--- {b.name} crashed; the end of its log:\n" + "\n".join(report) + "\n")
    return row, crashed


print("| harness | seconds | execs | cov at half the execs | cov | ft | corpus | crashes |")
print("|---|---|---|---|---|---|---|---|")
failed = False
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for row, crashed in pool.map(fuzz, binaries):  # in order, as each finishes
        failed |= crashed
        print(row, flush=True)
sys.exit(1 if failed else 0)
