// Streams through HAProxy to two floe-serve replicas: affinity on X-Session-Id.
// Usage: node haproxy_replicas.mjs PROXY_URL REPLICA1_URL REPLICA2_URL EXPECTED.json
// (EXPECTED.json: {"completions": [{"prompt", "text"}]}, greedy texts of 24 tokens; the proxy
// names floe1 = REPLICA1, floe2 = REPLICA2 in its X-Floe-Replica header.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const [proxy, replica1, replica2, expectedPath] = process.argv.slice(2);
const sessions = JSON.parse(readFileSync(expectedPath, "utf8")).completions
  .map((c, i) => ({ id: `session-${i}`, ...c, replicas: [] }));
const rounds = 3;

async function stream(s) {
  const res = await fetch(proxy + "/v1/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Session-Id": s.id },
    body: JSON.stringify({ prompt: s.prompt, max_tokens: 24, temperature: 0, stream: true }),
  });
  assert.equal(res.status, 200, `${s.id}: HTTP ${res.status}`);
  s.replicas.push(res.headers.get("x-floe-replica"));
  const body = await res.text();
  const events = body.split("\n\n").filter((e) => e.startsWith("data: "));
  assert.equal(events[events.length - 1], "data: [DONE]", `${s.id}: the stream did not end`);
  const text = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)))
    .map((j) => j.choices[0]?.text ?? "").join("");
  assert.equal(text, s.text, `${s.id}: the streamed text differs from the greedy text`);
}

for (let r = 0; r < rounds; ++r) await Promise.all(sessions.map(stream));

const served = { floe1: 0, floe2: 0 };
for (const s of sessions) {
  assert.equal(s.replicas.length, rounds);
  assert.ok(s.replicas.every((x) => x === s.replicas[0]),
            `${s.id} went to more than one replica: ${s.replicas.join(", ")}`);
  assert.ok(s.replicas[0] in served, `${s.id}: unknown replica ${s.replicas[0]}`);
  served[s.replicas[0]] += rounds;
}
assert.ok(served.floe1 > 0 && served.floe2 > 0,
          `one replica served every session: ${JSON.stringify(served)}`);
// Each replica counted exactly the requests the proxy says it sent there.
for (const [name, url] of [["floe1", replica1], ["floe2", replica2]]) {
  const metrics = await (await fetch(url + "/metrics")).text();
  const m = metrics.match(/^floe_requests_total\{endpoint="\/v1\/completions",status="200"\} (\d+)$/m);
  assert.equal(Number(m ? m[1] : 0), served[name], `${name}'s /metrics`);
}
console.log(`${sessions.length} sessions x ${rounds} streams: floe1 served ${served.floe1}, ` +
            `floe2 ${served.floe2}, each session on one replica`);
