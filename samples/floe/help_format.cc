#include "help_format.h"

#include <memory>
#include <string>

namespace floe::cli {

namespace {

class HelpFormatter final : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(34); }

  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_type_size() == 0) return {};  // a flag
    std::string type = Type(opt);
    if (type == "UINT") type = "INT";
    std::string out = type.empty() ? "" : " " + type;
    if (opt->get_required()) out += " (required)";
    return out;
  }

  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string notes = opt->get_type_size() == 0 ? "" : Constraint(opt);
    const std::string def =
        opt->get_type_size() == 0 || opt->get_required() ? "" : opt->get_default_str();
    if (!def.empty()) notes += (notes.empty() ? "default " : "; default ") + def;
    return notes.empty() ? opt->get_description() : opt->get_description() + " (" + notes + ")";
  }

 private:
  // get_type_name() is "TYPE:constraint:..." (each validator's description appended).
  static std::string Type(const CLI::Option* opt) {
    const std::string full = opt->get_type_name();
    return full.substr(0, full.find(':'));
  }
  static std::string Constraint(const CLI::Option* opt) {
    const std::string full = opt->get_type_name();
    const size_t colon = full.find(':');
    return colon == std::string::npos ? "" : full.substr(colon + 1);
  }
};

}  // namespace

void UseHelpFormat(CLI::App& app) { app.formatter(std::make_shared<HelpFormatter>()); }

}  // namespace floe::cli
