#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses, built at run time from ../shared/data (never
committed). Usage: make_corpora.py BUILD_DIR OUT_DIR [DATA_DIR]

Writes OUT_DIR/<harness>/ for every harness in tests/fuzz and samples/server/fuzz. The state
harness writes its own seeds (real saved states of each model) when run once with
FLOE_FUZZ_WRITE_SEEDS set. gguf.dict (committed) was made from the dotted string literals of
models/ and runtime/ (grep -rhoE '"[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)+"').
"""
import io
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import zipfile

build = pathlib.Path(sys.argv[1]).resolve()
out = pathlib.Path(sys.argv[2]).resolve()
here = pathlib.Path(__file__).resolve().parent
data = pathlib.Path(sys.argv[3] if len(sys.argv) > 3 else here.parent.parent.parent / "shared" / "data")
if not (data / "SOURCES.md").exists():
    sys.exit(f"make_corpora: test data not found at {data} (../shared/data)")


def seed(harness, name, payload):
    d = out / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(payload)


def copy(harness, rel, prefix=b""):
    p = data / rel
    seed(harness, rel.replace("/", "_"), prefix + p.read_bytes())


ggufs = sorted(str(p.relative_to(data)) for p in (data / "tokenizers").glob("*.gguf"))
quant = ["peer/llamacpp-quant/Q2_K.gguf", "peer/llamacpp-quant/Q4_0.gguf",
         "peer/llamacpp-quant/Q8_0.gguf"]
for rel in ggufs + quant:
    copy("fuzz_gguf", rel)
    copy("fuzz_gguf_tokenizer", rel)
for rel in quant + ["models/llama2c/stories260K.bin", "models/rwkv/tiny-rwkv-6v0-1m-FP16.bin",
                    "reference/mamba1/model.safetensors", "reference/rwkv6/model.pth"]:
    copy("fuzz_model_load", rel)

refs = ["rwkv6", "transnormer", "mamba1", "block_transformer", "goldfinch"]  # fuzz_hf_config order
for r in refs:
    for f in ("model.safetensors",):
        if (data / "reference" / r / f).exists():
            copy("fuzz_safetensors", f"reference/{r}/{f}")
    for f in ("model.pth", "pytorch_model.bin"):
        p = data / "reference" / r / f
        if p.exists():
            copy("fuzz_zip", f"reference/{r}/{f}")
            copy("fuzz_torch", f"reference/{r}/{f}")
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    if n.endswith("data.pkl"):
                        seed("fuzz_pickle", f"{r}_{f}.pkl", z.read(n))
for i, r in enumerate(refs):
    cfg = data / "reference" / r / "config.json"
    copy("fuzz_json", f"reference/{r}/config.json")
    seed("fuzz_hf_config", f"{r}.json", bytes([i]) + cfg.read_bytes())
templates = [json.loads(line) for line in (data / "chat" / "templates.jsonl").open()]
for i, t in enumerate(templates):
    msgs = json.dumps(t["messages"]).encode()
    seed("fuzz_json", f"messages_{i}", msgs)
    seed("fuzz_chat_template", f"template_{i}", t["template"].encode() + b"\0" + msgs)

for rel in ["models/llama2c/stories260K.bin"]:
    copy("fuzz_llama2c", rel)
for rel in ["models/rwkv/tiny-rwkv-6v0-1m-FP16.bin", "models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"]:
    copy("fuzz_rwkv_cpp", rel)
for rel in ["models/llama2c/tok512.bin", "tokenizers/llama2-tokenizer.bin"]:
    copy("fuzz_tokenizer_bin", rel)

texts = [(data / "tokenizers" / "ggml-vocab-llama-spm.gguf.inp").read_bytes(),
         (data / "corpora" / "frankenstein.txt").read_bytes()[:2048],
         (data / "corpora" / "wikitext2-test.raw").read_bytes()[:2048],
         "caf\u00e9 \u65e5\u672c\u8a9e \U0001F642 \u2581\t\n  <s></s><0x0A>".encode()]
for kind in ["spm", "bpe", "llama2c", "rwkv_world", "byte"]:
    for i, t in enumerate(texts):
        seed(f"fuzz_encode_{kind}", f"text_{i}", bytes([0]) + t)
    ids = struct.pack("<16i", 0, 1, 2, 3, 13, 100, 255, 256, 511, 1000, 30000, 50256, -1, 7, 8, 9)
    seed(f"fuzz_encode_{kind}", "ids", bytes([1]) + ids)

words = sorted(set((data / "corpora" / "tinystories-valid-head.txt").read_text().split()))[:300]
vocab = ["<|endoftext|>"] + [f"\\x{b:02x}" for b in range(256)] + words + [" " + w for w in words]
seed("fuzz_rwkv_world_vocab", "vocab", "\n".join(vocab).encode())
seed("fuzz_rwkv_world_vocab", "escapes", b'a\nb\n\\n\n\\t\n\\\\\n\\"\n\\x41\\x42\nab\n')

bodies = [b'{"prompt": "Once upon a time", "max_tokens": 16, "temperature": 0.5, "top_p": 0.9,'
          b' "stop": ["\\n", "END"], "seed": 7, "stream": true,'
          b' "stream_options": {"include_usage": true}}',
          b'{"model": "m", "prompt": "x", "top_k": 40, "min_p": 0.1, "repeat_penalty": 1.1,'
          b' "n": 1, "logprobs": false, "echo": false, "presence_penalty": 0}']
chats = [b'{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user",'
         b' "content": [{"type": "text", "text": "Hi"}]}], "max_tokens": 8, "stop": "\\n"}']
for i, b in enumerate(bodies):
    seed("fuzz_openai_request", f"completion_{i}", b"\0" + b)
for i, b in enumerate(chats):
    seed("fuzz_openai_request", f"chat_{i}", b"\1" + b)

# Head plans: the documented example, plans of every mode, and mistakes (first byte: context).
plans = [
    b'{"format": "floe-head-plan", "version": 1, "default": {"mode": "dense"}, "heads": ['
    b'{"layer": 0, "head": 1, "mode": "window", "window": 64},'
    b'{"layer": 2, "head": 0, "mode": "knn", "k": 32, "window": 256, "sinks": 4},'
    b'{"layer": 3, "head": 1, "mode": "dense"}], "info": {"tool": "floe plan-heads"}}',
    b'{"default": {"mode": "window", "window": 8}}',
    b'{"default": {"mode": "knn", "k": 4, "window": 8, "sinks": 2}}',
    b'{"heads": [{"layer": 4, "head": 3, "mode": "recurrent"}]}',
    b'{"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 0}]}',
]
for i, p in enumerate(plans):
    seed("fuzz_head_plan", f"plan_{i}", bytes([16 + 8 * i]) + p)

# Real saved states of every model the state harness loads (it writes them itself).
d = out / "fuzz_state_restore"
d.mkdir(parents=True, exist_ok=True)
empty = out / "empty-input"
empty.write_bytes(b"")
env = dict(os.environ, FLOE_FUZZ_WRITE_SEEDS=str(d), FLOE_DATA=str(data))
subprocess.run([str(build / "tests" / "fuzz" / "fuzz_state_restore"), str(empty)], env=env,
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
empty.unlink()
print(f"make_corpora: {sum(1 for _ in out.rglob('*') if _.is_file())} seeds in {out}")
