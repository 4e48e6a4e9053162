#include "server/subcommand_args.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace registryauth::server {

absl::StatusOr<ParsedArgs> ParseSubcommandArgs(const std::vector<std::string>& args, size_t first,
                                               const std::set<std::string>& allowed) {
  ParsedArgs parsed;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::string value = "true";
    const size_t eq = body.find('=');
    if (eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    } else if (allowed.count(name) == 0 && name.rfind("no", 0) == 0 &&
               allowed.count(name.substr(2)) != 0) {
      name = name.substr(2);
      value = "false";
    }
    if (allowed.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    parsed.flags[name] = value;
  }
  return parsed;
}

absl::StatusOr<bool> ParseBoolFlag(const std::string& name, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return absl::InvalidArgumentError(absl::StrCat("--", name, " must be true or false"));
}

}  // namespace registryauth::server
