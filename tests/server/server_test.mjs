// HTTP checks of floe-serve with Node's built-in fetch. Usage: node server_test.mjs PHASE URL
// EXPECTED.json, PHASE "main" (a server with --parallel 8 --queue 4 --max-body 65536), "small"
// (--parallel 1 --queue 1 --api-key sekret) or "rwkv" (a recurrent model).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";

const [phase, url, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
let headers = { "Content-Type": "application/json" };

async function post(path, body, extra = {}) {
  const res = await fetch(url + path, {
    method: "POST", headers: { ...headers, ...extra },
    body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  return res;
}

// A streamed request: the concatenated text, the finish reason and the parsed chunks.
async function stream(path, body) {
  const res = await post(path, { ...body, stream: true });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type"), /^text\/event-stream/);
  const raw = await res.text();
  const events = raw.split("\n\n").filter((e) => e.length > 0);
  assert.equal(events.at(-1), "data: [DONE]");
  const chunks = events.slice(0, -1).map((e) => {
    assert.ok(e.startsWith("data: "), e);
    return JSON.parse(e.slice(6));
  });
  let text = "", finish = null, usage = null;
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      text += path.includes("chat") ? (ch.delta.content ?? "") : ch.text;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { text, finish, chunks, usage };
}

async function expectError(res, status, param, code) {
  assert.equal(res.status, status, `want ${status}`);
  const body = await res.json();
  assert.ok(body.error, JSON.stringify(body));
  for (const k of ["message", "type", "param", "code"]) assert.ok(k in body.error, `error.${k}`);
  assert.equal(typeof body.error.message, "string");
  if (param !== undefined) assert.equal(body.error.param, param, JSON.stringify(body));
  if (code !== undefined) assert.equal(body.error.code, code, JSON.stringify(body));
  return body;
}

// Raw bytes on a fresh connection, closed after `ms` (whatever the server answered).
function raw(data, ms = 100) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(data);
      setTimeout(() => sock.destroy(), ms);
    });
    sock.on("error", () => {});
    sock.on("data", () => {});
    sock.on("close", resolve);
  });
}

// Malformed, truncated, oversized and abandoned requests; each must leave the server serving.
async function faults() {
  const post1 = (body) => `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${body}`;
  await Promise.all([
    raw("GARBAGE\r\n\r\n"),
    raw("\x00\xff\xfe binary junk \r\n\r\n"),
    raw(post1('Content-Length: 1000\r\n\r\n{"prompt": "Once')),
    raw(post1("Content-Length: 99999999999999999999999\r\n\r\n{}")),
    raw(post1("Content-Length: -5\r\n\r\n{}")),
    raw(post1("Transfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n")),
    raw("GET /health HTTP/1.1\r\nX-Long: " + "a".repeat(100000) + "\r\n\r\n"),
    raw(post1('Content-Length: 60\r\n\r\n{"prompt": "Once upon a time", "stream": true, "max_tokens": 400}'), 30),
    (async () => {
      const bad = Buffer.concat([Buffer.from('{"prompt": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
      await expectError(await post("/v1/completions", bad), 400, null, "invalid_json");
      await expectError(await post("/v1/completions", "[".repeat(60000)), 400, null, "invalid_json");
      await expectError(await post("/v1/completions", { prompt: "x", stop: "s".repeat(300) }), 400, "stop");
    })(),
  ]);
}

async function metric(name) {
  const text = await (await fetch(url + "/metrics", { headers })).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  return m ? Number(m[1]) : NaN;
}

async function main() {
  const models = await (await fetch(url + "/v1/models")).json();
  assert.equal(models.object, "list");
  const model = models.data[0].id;
  assert.equal(model, "stories260K.bin");
  const c0 = expected.completions[0];

  // Completions, not streamed: the CLI's greedy text, usage, finish_reason.
  let res = await post("/v1/completions", { model, prompt: c0.prompt, max_tokens: 48, temperature: 0 });
  assert.equal(res.status, 200);
  let body = await res.json();
  assert.equal(body.object, "text_completion");
  assert.equal(body.choices[0].text, c0.text);
  assert.equal(body.choices[0].finish_reason, "length");
  assert.equal(body.usage.completion_tokens, 48);
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 48);
  // prompt as an array of one string
  res = await post("/v1/completions", { prompt: [c0.prompt], max_tokens: 48, temperature: 0 });
  assert.equal((await res.json()).choices[0].text, c0.text);
  // streamed, with a usage chunk
  let s = await stream("/v1/completions", {
    prompt: c0.prompt, max_tokens: 48, temperature: 0, stream_options: { include_usage: true } });
  assert.equal(s.text, c0.text);
  assert.equal(s.finish, "length");
  assert.equal(s.usage.completion_tokens, 48);
  assert.ok(s.chunks.length >= 3, "text, finish and usage chunks");  // text may be coalesced

  // stop strings: the text ends before the first occurrence, finish_reason "stop"
  const stopAt = c0.text.indexOf("Lily");
  if (stopAt > 0) {
    res = await post("/v1/completions", { prompt: c0.prompt, max_tokens: 48, temperature: 0, stop: ["Lily", "zzz"] });
    body = await res.json();
    assert.equal(body.choices[0].text, c0.text.slice(0, stopAt));
    assert.equal(body.choices[0].finish_reason, "stop");
    s = await stream("/v1/completions", { prompt: c0.prompt, max_tokens: 48, temperature: 0, stop: "Lily" });
    assert.equal(s.text, c0.text.slice(0, stopAt));
    assert.equal(s.finish, "stop");
  }

  // Chat (ChatML for this model), not streamed and streamed.
  const chat = { model, messages: [{ role: "user", content: expected.chat.content }], max_tokens: 40, temperature: 0 };
  res = await post("/v1/chat/completions", chat);
  assert.equal(res.status, 200);
  body = await res.json();
  assert.equal(body.object, "chat.completion");
  assert.equal(body.choices[0].message.role, "assistant");
  assert.equal(body.choices[0].message.content, expected.chat.text);
  s = await stream("/v1/chat/completions", chat);
  assert.equal(s.text, expected.chat.text);
  assert.equal(s.chunks[0].choices[0].delta.role, "assistant");
  assert.equal(s.chunks[0].object, "chat.completion.chunk");

  // Sampling with a seed is reproducible.
  const sampled = { prompt: c0.prompt, max_tokens: 32, temperature: 0.9, top_p: 0.9, seed: 42 };
  const a = (await (await post("/v1/completions", sampled)).json()).choices[0].text;
  const b = (await (await post("/v1/completions", sampled)).json()).choices[0].text;
  assert.equal(a, b);

  // 8 concurrent streams, each equal to its lone greedy text; decode steps were batched.
  // Faults fired at the same time must not disturb them.
  const t0 = Date.now();
  const [results] = await Promise.all([Promise.all(expected.completions.map((c) =>
    stream("/v1/completions", { prompt: c.prompt, max_tokens: 48, temperature: 0 }))), faults()]);
  const secs = (Date.now() - t0) / 1000;
  results.forEach((r, i) => assert.equal(r.text, expected.completions[i].text, `stream ${i}`));
  const batches = await metric("floe_decode_batch_size_sum") / await metric("floe_decode_batch_size_count");
  console.log(`8 concurrent streams: ${(8 * 48 / secs).toFixed(0)} tok/s aggregate; mean decode batch ${batches.toFixed(2)}`);
  const text = await (await fetch(url + "/metrics")).text();
  const le1 = Number(text.match(/^floe_decode_batch_size_bucket\{le="1"\} (\S+)$/m)[1]);
  assert.ok(await metric("floe_decode_batch_size_count") > le1, "some decode step batched > 1 sequence");
  for (const name of ["floe_requests_total", "floe_prompt_tokens_total", "floe_completion_tokens_total",
                      "floe_queue_depth", "floe_active_sessions", "floe_tokens_per_second"])
    assert.match(text, new RegExp(`^# TYPE ${name} `, "m"));

  // Prompt caching: a session whose history is a prefix of the next prompt is reused.
  await post("/v1/completions", { prompt: c0.prompt, max_tokens: 1, temperature: 0 });
  const cachedBefore = await metric("floe_prompt_cached_tokens_total");
  res = await post("/v1/completions", { prompt: expected.cached.prompt, max_tokens: 24, temperature: 0 });
  assert.equal((await res.json()).choices[0].text, expected.cached.text);
  const cached = await metric("floe_prompt_cached_tokens_total") - cachedBefore;
  assert.ok(cached >= 5, `prompt tokens reused: ${cached}`);

  // Errors: OpenAI error objects with the offending parameter.
  await expectError(await post("/v1/completions", "{not json"), 400, null, "invalid_json");
  await expectError(await post("/v1/completions", "[1,2]"), 400);
  await expectError(await post("/v1/completions", { prompt: "x", temperature: "hot" }), 400, "temperature", "invalid_type");
  await expectError(await post("/v1/completions", { prompt: 5 }), 400, "prompt");
  await expectError(await post("/v1/completions", { prompt: ["a", "b"] }), 400, "prompt");
  await expectError(await post("/v1/completions", {}), 400, "prompt", "missing_field");
  await expectError(await post("/v1/completions", { prompt: "x", frobnicate: 1 }), 400, "frobnicate", "unknown_field");
  await expectError(await post("/v1/completions", { prompt: "x", n: 2 }), 400, "n");
  await expectError(await post("/v1/completions", { prompt: "x", max_tokens: 0 }), 400, "max_tokens");
  await expectError(await post("/v1/completions", { prompt: "x", max_tokens: 100000 }), 400, "max_tokens", "invalid_value");
  await expectError(await post("/v1/completions", { prompt: c0.prompt, max_tokens: 510 }), 400, "max_tokens", "context_length_exceeded");
  await expectError(await post("/v1/completions", { prompt: "x", stop: [1] }), 400, "stop");
  await expectError(await post("/v1/completions", { prompt: "x", stream: "yes" }), 400, "stream");
  await expectError(await post("/v1/completions", { model: "gpt-4", prompt: "x" }), 404, "model", "model_not_found");
  await expectError(await post("/v1/completions", { prompt: "word ".repeat(2000) }), 400, "prompt", "context_length_exceeded");
  await expectError(await post("/v1/completions", { prompt: "x".repeat(70000) }), 413, null, "request_too_large");
  await expectError(await post("/v1/chat/completions", { messages: [] }), 400, "messages");
  await expectError(await post("/v1/chat/completions", { messages: [{ role: "wizard", content: "x" }] }), 400, "messages[0].role");
  await expectError(await post("/v1/chat/completions", { messages: [{ role: "user", content: 3 }] }), 400, "messages[0].content");
  await expectError(await post("/v1/chat/completions", { messages: "hi" }), 400, "messages", "invalid_type");
  await expectError(await fetch(url + "/v1/nothing"), 404);
  // Every bad request was answered; the server still works.
  res = await post("/v1/completions", { prompt: c0.prompt, max_tokens: 48, temperature: 0 });
  assert.equal((await res.json()).choices[0].text, c0.text);

  // A client that goes away: its generation is cancelled and its session freed.
  const ctl = new AbortController();
  const reader = (await fetch(url + "/v1/completions", {
    method: "POST", headers, signal: ctl.signal,
    body: JSON.stringify({ prompt: c0.prompt, max_tokens: 460, stream: true, temperature: 0 }) })).body.getReader();
  await reader.read();
  ctl.abort();
  await reader.cancel().catch(() => {});
  // The same for a request that is not streamed.
  const ctl2 = new AbortController();
  const res2 = await fetch(url + "/v1/completions", {
    method: "POST", headers, signal: ctl2.signal,
    body: JSON.stringify({ prompt: c0.prompt, max_tokens: 460, temperature: 0 }) });
  ctl2.abort();  // headers came with the first token; the body is still being generated
  await res2.text().catch(() => {});
  for (let i = 0; i < 400 && (await metric("floe_active_sessions")) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await metric("floe_active_sessions"), 0);
  const cancelledCount = await metric("floe_cancelled_total");
  console.log(`disconnects: ${cancelledCount} generations cancelled`);
  assert.ok(cancelledCount >= 2, "the streamed and the plain request were both cancelled");
}

async function small() {
  // API key: /health and the page are open, /v1 needs the Bearer key.
  assert.equal((await fetch(url + "/health")).status, 200);
  const page = await fetch(url + "/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  const html = await page.text();
  assert.ok(html.includes("/v1/chat/completions") && html.includes("stream: true"), "the chat page");
  await expectError(await fetch(url + "/v1/models"), 401, null, "invalid_api_key");
  await expectError(await post("/v1/completions", { prompt: "x" }, { Authorization: "Bearer wrong" }), 401);
  headers = { ...headers, Authorization: "Bearer sekret" };
  assert.equal((await fetch(url + "/v1/models", { headers })).status, 200);
  // One session and one queue place: of 6 requests at once, some get 429 with Retry-After,
  // and every other one completes.
  const all = await Promise.all(Array.from({ length: 6 }, () =>
    post("/v1/completions", { prompt: "Once upon a time", max_tokens: 460, temperature: 0 })));
  const busy = all.filter((r) => r.status === 429);
  assert.ok(busy.length >= 1, "at least one 429");
  assert.equal(busy[0].headers.get("retry-after"), "1");
  await expectError(busy[0], 429, null, "rate_limit_exceeded");
  for (const r of all.filter((r) => r.status !== 429)) {
    assert.equal(r.status, 200);
    assert.equal((await r.json()).choices[0].finish_reason, "length");
  }
  console.log(`queue full: ${busy.length} of 6 refused with 429`);
}

async function rwkv() {
  const model = (await (await fetch(url + "/v1/models")).json()).data[0].id;
  const c0 = expected.completions[0];
  const res = await post("/v1/completions", { model, prompt: c0.prompt, max_tokens: 40, temperature: 0 });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].text, c0.text);
  const s = await stream("/v1/completions", { prompt: c0.prompt, max_tokens: 40, temperature: 0 });
  assert.equal(s.text, c0.text);
  const results = await Promise.all(expected.completions.map((c) =>
    stream("/v1/completions", { prompt: c.prompt, max_tokens: 40, temperature: 0 })));
  results.forEach((r, i) => assert.equal(r.text, expected.completions[i].text, `stream ${i}`));
  const chat = await post("/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 8 });
  assert.equal(chat.status, 200);
  assert.equal((await chat.json()).usage.completion_tokens <= 8, true);
}

await ({ main, small, rwkv })[phase]();
console.log(`server_test.mjs ${phase}: passed`);
