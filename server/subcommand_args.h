// Argument parsing shared by registry-authd's operator subcommands (`keys`, `signing-keys`):
// positional words plus `--name=value`, `--name` (= "true") and `--noname` (= "false").
//
//   ASSIGN_OR_RETURN(ParsedArgs a, ParseSubcommandArgs(args, 2, {"key_file", "primary"}));
//   ASSIGN_OR_RETURN(bool primary, ParseBoolFlag("primary", a.flags["primary"]));
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVER_SUBCOMMAND_ARGS_H_
#define REGISTRY_AUTH_SERVER_SUBCOMMAND_ARGS_H_

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::server {

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

// Parses args[first..]. Anything starting with '-' must name a flag in `allowed`
// (INVALID_ARGUMENT "unknown flag --x" otherwise).
absl::StatusOr<ParsedArgs> ParseSubcommandArgs(const std::vector<std::string>& args, size_t first,
                                               const std::set<std::string>& allowed);

// true/1/yes or false/0/no; INVALID_ARGUMENT "--<name> must be true or false" otherwise.
absl::StatusOr<bool> ParseBoolFlag(const std::string& name, const std::string& value);

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_SUBCOMMAND_ARGS_H_
