// The official `openai` npm package drives floe-serve: chat and completions, streamed and not.
// Usage: node openai_client.mjs NPM_DIR URL EXPECTED_TEXT.json
// (NPM_DIR holds node_modules/openai; EXPECTED_TEXT.json: {"prompt", "text"} of a greedy run.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [npmDir, url, expectedPath] = process.argv.slice(2);
const OpenAI = createRequire(npmDir + "/package.json")("openai");
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
const client = new OpenAI({ baseURL: url + "/v1", apiKey: "sekret", maxRetries: 0 });

const models = await client.models.list();
const model = models.data[0].id;

const done = await client.completions.create({ model, prompt: expected.prompt, max_tokens: 24, temperature: 0 });
assert.equal(done.choices[0].text, expected.text);
assert.equal(done.usage.completion_tokens > 0, true);

let text = "";
const stream = await client.completions.create({ model, prompt: expected.prompt, max_tokens: 24, temperature: 0, stream: true });
for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
assert.equal(text, expected.text);

const messages = [{ role: "system", content: "You tell stories." }, { role: "user", content: "A story, please." }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0 });
assert.equal(chat.choices[0].message.role, "assistant");
let streamed = "";
const chatStream = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0, stream: true });
for await (const chunk of chatStream) streamed += chunk.choices[0]?.delta?.content ?? "";
assert.equal(streamed, chat.choices[0].message.content);

// Errors arrive as the package's typed errors.
await assert.rejects(client.completions.create({ model: "no-such-model", prompt: "x" }),
                     (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
await assert.rejects(client.completions.create({ model, prompt: "x", n: 2 }),
                     (e) => e instanceof OpenAI.BadRequestError && e.param === "n");
const wrongKey = new OpenAI({ baseURL: url + "/v1", apiKey: "wrong", maxRetries: 0 });
await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
console.log(`openai ${createRequire(npmDir + "/package.json")("openai/version").VERSION} against ${model}: passed`);
