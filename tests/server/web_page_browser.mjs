// The chat page at / in a real browser: headless Chromium, driven by puppeteer-core, types a
// message, sends it with Enter and watches the assistant's reply grow as the stream arrives.
// The final reply must equal the expected greedy text (from `floe generate --temp 0`), and the
// page must have shown it in more than one step, each a prefix of the next (streamed, not
// rendered once at the end).
// Usage: node web_page_browser.mjs NPM_DIR CHROMIUM URL EXPECTED.json
// (NPM_DIR holds node_modules/puppeteer-core; EXPECTED.json: {"content", "max_tokens", "text"}.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [npmDir, chromium, url, expectedPath] = process.argv.slice(2);
const puppeteer = createRequire(npmDir + "/package.json")("puppeteer-core");
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // Root in a container has no user namespaces for Chromium's sandbox; /dev/shm may be small.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(url + "/", { waitUntil: "load", timeout: 30000 });
  // The page asks /v1/models for the model id on load.
  await page.waitForFunction(() => document.getElementById("model").textContent !== "...",
                             { timeout: 30000 });
  const model = await page.$eval("#model", (e) => e.textContent);
  assert.equal(model, expected.model);

  // Greedy, so the reply is reproducible; the page's own inputs set the request fields.
  for (const [sel, value] of [["#temp", "0"], ["#max", String(expected.max_tokens)]]) {
    await page.$eval(sel, (e) => { e.value = ""; });
    await page.type(sel, value);
  }
  // Record every text the assistant's message shows while it streams.
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const out = document.querySelector("#log .assistant, #log .error");
      if (out && window.__seen[window.__seen.length - 1] !== out.textContent)
        window.__seen.push(out.textContent);
    }).observe(document.getElementById("log"),
               { childList: true, subtree: true, characterData: true });
  });
  // The tiny model writes its whole reply in tens of milliseconds, which a loaded machine may
  // deliver as one network read. DevTools' download throttle (about a second for the reply's
  // SSE bytes) makes the page receive it in pieces, whatever the machine's speed.
  await page.emulateNetworkConditions({ offline: false, download: 24 * 1024, upload: 1 << 20,
                                        latency: 0 });
  await page.type("#input", expected.content);
  await page.keyboard.press("Enter");
  // Done when the Send button is enabled again and the reply exists.
  await page.waitForFunction(
      () => !document.getElementById("send").disabled && document.querySelector("#log .msg + .msg"),
      { timeout: 30000, polling: 20 });
  const user = await page.$eval("#log .user", (e) => e.textContent);
  const cls = await page.$eval("#log .msg + .msg", (e) => e.className);
  const reply = await page.$eval("#log .msg + .msg", (e) => e.textContent);
  const seen = await page.evaluate(() => window.__seen.filter((t) => t.length > 0));
  assert.deepEqual(pageErrors, []);
  assert.equal(user, expected.content);
  assert.equal(cls, "msg assistant", `the page shows an error: ${reply}`);
  assert.equal(reply, expected.text);
  assert.ok(seen.length >= 2, `the reply appeared in ${seen.length} step(s), not streamed`);
  for (let i = 1; i < seen.length; ++i)
    assert.ok(seen[i].startsWith(seen[i - 1]), `step ${i} does not extend step ${i - 1}`);
  assert.equal(seen[seen.length - 1], expected.text);
  const version = await browser.version();
  console.log(`${version}: the page streamed ${reply.length} characters in ${seen.length} steps`);
} finally {
  await browser.close();
}
