// floe chat: an interactive chat in the terminal. Reads one user message per line from stdin
// (a terminal or a pipe), renders the conversation with the model's tokenizer.chat_template (or
// ChatML when the file has none; docs/chat-templates.md), and streams the reply to stdout, one
// reply per turn followed by a newline. One session lives across turns: when the text already
// evaluated (the previous prompt plus the reply) is a prefix of the new rendering, only the new
// suffix is evaluated; otherwise the session is reset and the whole conversation re-evaluated.
// A reply ends at an end-of-generation token, at the template's end-of-turn text, or after
// --max-tokens. Lines "/reset" (forget the conversation) and "/quit" are commands; end of input
// ends the chat (exit 0).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "checks.h"
#include "commands.h"
#include "load_flags.h"
#include "session_flags.h"
#include "runtime/chat/chat_template.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

struct ChatFlags {
  ModelFlags model;
  std::string system;
  long max_tokens = 256;
  bool stats = false;
  SamplerParams sampler;
  SessionParams session;
};

struct Message {
  std::string role;
  std::string content;
};

JsonValue MessagesJson(const std::vector<Message>& msgs) {
  std::vector<JsonValue> items;
  for (const Message& m : msgs)
    items.push_back(JsonValue::Object(
        {{"role", JsonValue::String(m.role)}, {"content", JsonValue::String(m.content)}}));
  return JsonValue::Array(std::move(items));
}

// The text the template puts after an assistant message: rendered around a marker, the text
// right after it up to the first newline, trimmed ("<|im_end|>", "<|eot_id|>", "</s>"). Empty
// when the template shows none.
std::string EndOfTurnText(const std::string& tpl, const ChatTemplateInputs& base) {
  const std::string marker = "\x01floe-marker\x01";
  ChatTemplateInputs in = base;
  in.add_generation_prompt = false;
  auto text = RenderChatTemplate(tpl, MessagesJson({{"user", "hi"}, {"assistant", marker}}), in);
  if (!text.ok()) return "";
  const size_t p = text->find(marker);
  if (p == std::string::npos) return "";
  std::string rest = text->substr(p + marker.size());
  rest = rest.substr(0, rest.find('\n'));
  const size_t b = rest.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = rest.find_last_not_of(" \t");
  return rest.substr(b, e - b + 1);
}

class Chat {
 public:
  Chat(const ChatFlags& f, const Model& model, std::unique_ptr<Session> session)
      : f_(f),
        model_(model),
        tok_(*model.tokenizer()),
        session_(std::move(session)),
        sampler_(f.sampler) {
    for (const auto& [k, v] : model.metadata())
      if (k == "tokenizer.chat_template") template_ = v;
    // BOS is added as a token (when the vocabulary wants it), so the template's bos_token is
    // empty; eos_token is the EOS token's text.
    if (tok_.eos() >= 0) inputs_.eos_token = tok_.TokenBytes(tok_.eos());
    stop_text_ = template_.empty() ? "<|im_end|>" : EndOfTurnText(template_, inputs_);
    Reset();
  }

  const std::string& template_text() const { return template_; }

  void Reset() {
    messages_.clear();
    if (!f_.system.empty()) messages_.push_back({"system", f_.system});
    session_->Reset();
    evaluated_.clear();
  }

  // One user turn: returns false on an error that ends the chat.
  bool Turn(const std::string& user) {
    messages_.push_back({"user", user});
    auto prompt = RenderChatTemplate(template_, MessagesJson(messages_), inputs_);
    if (!prompt.ok()) {
      std::fprintf(stderr, "floe chat: %s\n", prompt.status().ToString().c_str());
      messages_.pop_back();
      return false;
    }
    if (Status st = EvalPrompt(*prompt); !st.ok()) {
      std::fprintf(stderr, "floe chat: %s (try /reset)\n", st.ToString().c_str());
      messages_.pop_back();
      session_->Reset();
      evaluated_.clear();
      return true;
    }
    std::string reply, pending, all_text;
    bool stopped_on_text = false;
    int32_t last = -1;
    auto r = session_->Generate({}, size_t(f_.max_tokens), sampler_,
                                [&](int32_t id, std::string_view text) {
                                  last = id;
                                  all_text += text;
                                  pending += text;
                                  return Stream(&reply, &pending, &stopped_on_text);
                                });
    if (!stopped_on_text) Flush(&reply, &pending);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (!r.ok()) {
      std::fprintf(stderr, "floe chat: %s\n", r.status().ToString().c_str());
      return false;
    }
    // The session holds the prompt and every sampled token but the last; evaluating that one
    // too (unless it ended the text) makes it hold exactly prompt + all_text, the prefix that
    // the next turn's rendering usually starts with (reply, then the end-of-turn text).
    evaluated_.clear();
    if (r->reason == StopReason::kContextFull) {
      std::fprintf(stderr, "floe chat: the context is full; /reset to start over\n");
    } else if (r->reason == StopReason::kEndOfText || last < 0) {
      evaluated_ = *prompt + all_text;
    } else {
      const int32_t ids[1] = {last};
      if (session_->Eval(ids).ok()) evaluated_ = *prompt + all_text;
    }
    if (f_.stats)
      std::fprintf(stderr, "[turn: %zu prompt tokens evaluated, %zu reused; %zu generated, %s]\n",
                   last_eval_, last_reused_, r->generated, StopReasonName(r->reason));
    messages_.push_back({"assistant", reply});
    return true;
  }

 private:
  // Evaluates the rendered prompt: only its new suffix when the session's text is its prefix.
  Status EvalPrompt(const std::string& prompt) {
    std::vector<int32_t> ids;
    if (!evaluated_.empty() && prompt.compare(0, evaluated_.size(), evaluated_) == 0) {
      ids = tok_.Encode(std::string_view(prompt).substr(evaluated_.size()), /*add_bos=*/false);
    } else {
      session_->Reset();
      ids = tok_.Encode(prompt, tok_.add_bos_by_default());
    }
    last_reused_ = session_->tokens().size();
    last_eval_ = ids.size();
    if (ids.empty()) return Status::Ok();
    return session_->Eval(ids);
  }

  // Prints what of *pending cannot start the stop text; false when the stop text appeared.
  bool Stream(std::string* reply, std::string* pending, bool* stopped) {
    if (!stop_text_.empty()) {
      const size_t p = pending->find(stop_text_);
      if (p != std::string::npos) {
        pending->resize(p);
        Flush(reply, pending);
        *stopped = true;
        return false;
      }
      size_t keep = 0;  // the longest suffix of *pending that is a prefix of the stop text
      for (size_t k = std::min(pending->size(), stop_text_.size() - 1); k > 0; --k)
        if (pending->compare(pending->size() - k, k, stop_text_, 0, k) == 0) {
          keep = k;
          break;
        }
      std::string out = pending->substr(0, pending->size() - keep);
      pending->erase(0, pending->size() - keep);
      Print(reply, out);
      return true;
    }
    Flush(reply, pending);
    return true;
  }
  void Flush(std::string* reply, std::string* pending) {
    Print(reply, *pending);
    pending->clear();
  }
  static void Print(std::string* reply, const std::string& text) {
    *reply += text;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }

  const ChatFlags& f_;
  const Model& model_;
  const Tokenizer& tok_;
  std::unique_ptr<Session> session_;
  Sampler sampler_;
  std::string template_;
  ChatTemplateInputs inputs_;
  std::string stop_text_;
  std::vector<Message> messages_;
  std::string evaluated_;  // the text the session holds (empty: unknown, re-evaluate)
  size_t last_eval_ = 0, last_reused_ = 0;  // tokens evaluated / kept for the last prompt
};

int Run(const ChatFlags& f) {
  if (Status st = f.sampler.Validate(); !st.ok()) {
    std::fprintf(stderr, "floe chat: %s\n", st.ToString().c_str());
    return 2;
  }
  ProgressLine progress(f.model.progress);
  auto model = LoadModel(f.model.model, f.model.load, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe chat: %s\n", model.status().ToString().c_str());
    return 1;
  }
  if (!(*model)->tokenizer()) {
    std::fprintf(stderr, "floe chat: %s has no vocabulary; pass -z tokenizer.bin\n",
                 f.model.model.c_str());
    return 1;
  }
  auto session = Session::Create(**model, f.session);
  if (!session.ok()) {
    std::fprintf(stderr, "floe chat: %s\n", session.status().ToString().c_str());
    return 1;
  }
  Chat chat(f, **model, std::move(*session));
  if (!chat.template_text().empty()) {
    if (Status st = CheckChatTemplate(chat.template_text()); !st.ok()) {
      std::fprintf(stderr, "floe chat: the model's %s\n", st.ToString().c_str());
      return 1;
    }
  }
  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive)
    std::fprintf(stderr, "floe chat: %s template; /reset forgets, /quit ends\n",
                 chat.template_text().empty() ? "ChatML (the model has no" : "the model's");
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs("> ", stderr);
      std::fflush(stderr);
    }
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/quit") break;
    if (line == "/reset") {
      chat.Reset();
      continue;
    }
    if (line.empty()) continue;
    if (!chat.Turn(line)) return 1;
  }
  return 0;
}

}  // namespace

Verb AddChat(CLI::App& floe) {
  auto f = std::make_shared<ChatFlags>();
  CLI::App* app = floe.add_subcommand("chat", "chat with a model in the terminal (stdin lines)");
  AddModelFlags(app, &f->model);
  app->add_option("--system", f->system, "a system message to start the conversation with");
  app->add_option("-n,--max-tokens", f->max_tokens, "tokens per reply at most")
      ->check(IntAtLeast(1));
  app->add_flag("--stats", f->stats,
                "after each reply, a line on stderr: tokens evaluated, reused");
  AddThreadsFlag(app, &f->session.threads);
  AddContextFlag(app, &f->session.context_length, "context length, 0 = the model's");
  AddKvFlag(app, &f->session.kv_dtype);
  AddMemoryBudgetFlag(app, &f->session.memory_budget);
  const char* sampling = "Sampling";
  SamplerParams& s = f->sampler;
  app->add_option("--temp", s.temperature, "temperature (>= 0), 0 = greedy")
      ->check(Real())
      ->group(sampling);
  app->add_option("--top-k", s.top_k, "sample from the K most likely tokens (>= 0), 0: off")
      ->group(sampling);
  app->add_option("--top-p", s.top_p, "nucleus sampling mass in (0, 1], 1: off")
      ->check(Real())
      ->group(sampling);
  app->add_option("-s,--seed", s.seed, "random seed")->check(IntAtLeast(0))->group(sampling);
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
