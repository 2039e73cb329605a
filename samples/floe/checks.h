// Value checks for the floe CLI's flags, on top of CLI11. Every check runs while the command line
// is parsed, before any file is opened, and fails with a message that names the flag and the bad
// value; the CLI then exits with status 2 (usage error).
//   "--n-predict: must be an integer >= 0, not '-5'"          (IntAtLeast, CLI11 prefixes the flag)
//   "--model: no such file '/nonexistent'"                     (ExistingInputFile)
//   "--kv must be f32 or f16, not 'f8'"                        (AddChoice)
//   "--attention: unknown attention backend 'foo' (choose ...)" (AddParsed: the runtime's message)
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "platform/base/status.h"

namespace floe::cli {

// Integers >= min. Help shows ">= min".
CLI::Validator IntAtLeast(long long min);
// Finite reals in [min, max] (max_open: [min, max)); Real: any finite real.
CLI::Validator RealRange(double min, double max, bool max_open = false);
CLI::Validator Real();
// A path to an existing regular file (not a directory).
CLI::Validator ExistingInputFile();

// "a", "a or b", "a, b or c".
std::string OrList(const std::vector<std::string>& names);

// Adds `name` (e.g. "--kv") taking one of `choices` (spelling -> value); a given value is stored
// in *target, any other is refused as "<flag> must be <a, b or c>, not '<value>'". Help shows the
// choices, and as the default the name of the current *target.
template <class T>
CLI::Option* AddChoice(CLI::App* app, const std::string& name, T* target,
                       std::vector<std::pair<std::string, T>> choices, const std::string& help) {
  std::vector<std::string> names;
  std::string default_name;
  for (const auto& c : choices) {
    names.push_back(c.first);
    if (c.second == *target) default_name = c.first;
  }
  const std::string flag = name.substr(0, name.find(','));
  auto set = [target, choices, names, flag](const std::string& v) {
    for (const auto& c : choices)
      if (c.first == v) {
        *target = c.second;
        return;
      }
    throw CLI::ValidationError(flag + " must be " + OrList(names) + ", not '" + v + "'");
  };
  std::string type;
  for (const std::string& n : names) type += (type.empty() ? "" : "|") + n;
  return app->add_option_function<std::string>(name, set, help)
      ->type_name(type)
      ->default_str(default_name);
}

// Adds `name` whose value is parsed by one of the runtime's parsers (e.g. ParseAttentionBackend);
// a parse error is refused as "<flag>: <the parser's message>".
template <class T>
CLI::Option* AddParsed(CLI::App* app, const std::string& name, T* target,
                       std::function<Result<T>(const std::string&)> parse, const std::string& type,
                       const std::string& default_name, const std::string& help) {
  const std::string flag = name.substr(0, name.find(','));
  auto set = [target, parse, flag](const std::string& v) {
    Result<T> r = parse(v);
    if (!r.ok()) throw CLI::ValidationError(flag + ": " + r.status().message());
    *target = r.value();
  };
  return app->add_option_function<std::string>(name, set, help)
      ->type_name(type)
      ->default_str(default_name);
}

}  // namespace floe::cli
