// floe template render: renders a conversation with a chat template file and prints exactly the
// rendered text (no newline added), for tests and for users checking a model's template.
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "checks.h"
#include "commands.h"
#include "runtime/chat/chat_template.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe::cli {

namespace {

struct TemplateFlags {
  std::string template_path;
  std::string messages_path;
  std::string bos_token;
  std::string eos_token;
  bool no_generation_prompt = false;
  std::optional<std::string> strftime_now;
};

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int Run(const TemplateFlags& f) {
  auto tpl = ReadText(f.template_path);
  auto msgs = ReadText(f.messages_path);
  for (const auto* r : {&tpl, &msgs})
    if (!r->ok()) {
      std::fprintf(stderr, "floe template render: %s\n", r->status().ToString().c_str());
      return 1;
    }
  auto messages = ParseJson(*msgs);
  if (!messages.ok()) {
    std::fprintf(stderr, "floe template render: %s: %s\n", f.messages_path.c_str(),
                 messages.status().ToString().c_str());
    return 1;
  }
  ChatTemplateInputs in;
  in.bos_token = f.bos_token;
  in.eos_token = f.eos_token;
  in.add_generation_prompt = !f.no_generation_prompt;
  in.strftime_now = f.strftime_now;
  auto text = RenderChatTemplate(*tpl, *messages, in);
  if (!text.ok()) {
    std::fprintf(stderr, "floe template render: %s: %s\n", f.template_path.c_str(),
                 text.status().ToString().c_str());
    return 1;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

Verb AddTemplate(CLI::App& floe) {
  auto f = std::make_shared<TemplateFlags>();
  CLI::App* app = floe.add_subcommand("template", "chat templates (floe template render ...)");
  app->require_subcommand(1);
  CLI::App* render = app->add_subcommand(
      "render", "render a conversation with a Jinja chat template; prints exactly the text");
  render->add_option("--template", f->template_path, "the template file (Jinja); empty = ChatML")
      ->required()
      ->check(ExistingInputFile());
  render
      ->add_option("--messages", f->messages_path, "JSON array of {\"role\", \"content\"} messages")
      ->required()
      ->check(ExistingInputFile());
  render->add_option("--bos-token", f->bos_token, "the template variable bos_token");
  render->add_option("--eos-token", f->eos_token, "the template variable eos_token");
  render->add_flag("--no-generation-prompt", f->no_generation_prompt,
                   "add_generation_prompt = false (default true)");
  render->add_option("--strftime-now", f->strftime_now,
                     "what strftime_now() returns (default: today, formatted as asked)");
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
