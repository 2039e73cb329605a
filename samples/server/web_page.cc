// The chat page at GET /: one static HTML document (no external resources). It keeps the
// conversation in the browser, posts it to /v1/chat/completions with stream: true, and appends
// the SSE deltas as they arrive. An API key typed in is sent as a Bearer token.
#include "web_page.h"

namespace floe::serve {

const char kWebPage[] = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>floe chat</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column;
         height: 100vh; background: #f6f6f4; color: #222; }
  header { padding: 8px 16px; background: #234; color: #fff; display: flex; gap: 12px;
           align-items: center; flex-wrap: wrap; }
  header label { font-size: 13px; }
  header input { width: 70px; }
  #log { flex: 1; overflow-y: auto; padding: 16px; }
  .msg { max-width: 760px; margin: 0 auto 12px; padding: 8px 12px; border-radius: 8px;
         white-space: pre-wrap; }
  .user { background: #dde8f5; }
  .assistant { background: #fff; border: 1px solid #ddd; }
  .error { background: #fbe3e3; }
  form { display: flex; gap: 8px; padding: 12px 16px; background: #fff; border-top: 1px solid #ddd; }
  textarea { flex: 1; font: inherit; min-height: 44px; }
</style>
</head>
<body>
<header>
  <strong>floe</strong><span id="model">...</span>
  <label>max tokens <input id="max" type="number" value="256" min="1"></label>
  <label>temperature <input id="temp" type="number" value="0.8" step="0.1" min="0" max="2"></label>
  <label>API key <input id="key" type="password" style="width:120px"></label>
  <button id="clear" type="button">new chat</button>
</header>
<div id="log"></div>
<form id="form">
  <textarea id="input" placeholder="Message (Enter sends, Shift+Enter new line)"></textarea>
  <button id="send">Send</button>
</form>
<script>
const log = document.getElementById("log"), input = document.getElementById("input");
const form = document.getElementById("form"), send = document.getElementById("send");
let messages = [], model = undefined;

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = document.getElementById("key").value;
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}
function add(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}
async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (j.data) { model = j.data[0].id; document.getElementById("model").textContent = model; }
  } catch (e) {}
}
async function chat(text) {
  messages.push({ role: "user", content: text });
  add("user", text);
  const out = add("assistant", "");
  send.disabled = true;
  let reply = "";
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ model, messages, stream: true,
        max_tokens: Number(document.getElementById("max").value) || 256,
        temperature: Number(document.getElementById("temp").value) }),
    });
    if (!res.ok) {
      const j = await res.json().catch(() => ({}));
      throw new Error((j.error && j.error.message) || ("HTTP " + res.status));
    }
    const reader = res.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
        const j = JSON.parse(ev.slice(6));
        if (j.error) throw new Error(j.error.message);
        const d = j.choices && j.choices[0] && j.choices[0].delta;
        if (d && d.content) { reply += d.content; out.textContent = reply; log.scrollTop = log.scrollHeight; }
      }
    }
    messages.push({ role: "assistant", content: reply });
  } catch (e) {
    out.className = "msg error";
    out.textContent = (reply ? reply + "\n" : "") + "error: " + e.message;
    messages.pop();
  }
  send.disabled = false;
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || send.disabled) return;
  input.value = "";
  chat(text);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});
document.getElementById("clear").onclick = () => { messages = []; log.textContent = ""; };
document.getElementById("key").onchange = loadModel;
loadModel();
</script>
</body>
</html>
)HTML";

}  // namespace floe::serve
