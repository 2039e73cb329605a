// Load generator for floe-serve (or any OpenAI-compatible server): C concurrent clients, each
// streaming R completions of max_tokens T; prints aggregate decode tok/s, p50/p99 time to first
// token and p50/p99 time between tokens (SSE chunks). Node 20, no packages.
// Usage: node load.mjs URL [--concurrency 1,8,32] [--requests 2] [--max-tokens 128]
//        [--prompt TEXT] [--model NAME] [--temperature 0.8]
const args = process.argv.slice(2);
const url = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const levels = opt("concurrency", "1,8").split(",").map(Number);
const requests = Number(opt("requests", "2"));
const maxTokens = Number(opt("max-tokens", "128"));
const prompt = opt("prompt", "Once upon a time");
const model = opt("model", undefined);
const temperature = Number(opt("temperature", "0.8"));

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

async function one(ttft, gaps) {
  const t0 = performance.now();
  const res = await fetch(url + "/v1/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature, seed: 1, stream: true,
                           stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  let tokens = 0, last = null, buf = "";
  const dec = new TextDecoder();
  for await (const part of res.body) {
    buf += dec.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const c = JSON.parse(ev.slice(6));
      if (c.usage) tokens = c.usage.completion_tokens;
      if (c.choices?.[0]?.text) {
        const now = performance.now();
        if (last === null) ttft.push(now - t0); else gaps.push(now - last);
        last = now;
      }
    }
  }
  return tokens;
}

for (const c of levels) {
  const ttft = [], gaps = [];
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: c }, async () => {
    let n = 0;
    for (let r = 0; r < requests; r++) n += await one(ttft, gaps);
    return n;
  }));
  const secs = (performance.now() - t0) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`concurrency ${String(c).padStart(3)}: ${total} tokens in ${secs.toFixed(2)} s = ` +
              `${(total / secs).toFixed(1)} tok/s aggregate; TTFT p50 ${pct(ttft, 0.5).toFixed(1)} ms ` +
              `p99 ${pct(ttft, 0.99).toFixed(1)} ms; inter-chunk p50 ${pct(gaps, 0.5).toFixed(2)} ms ` +
              `p99 ${pct(gaps, 0.99).toFixed(2)} ms`);
}
