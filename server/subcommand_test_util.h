// Runs `registry-authd` operator subcommands (server/keys_cli.h) in-process for tests: the
// arguments as after the program name, a made-up environment, and captured output.
//
//   SubcommandResult r = RunSubcommandForTest({"migrate"}, {{"REGAUTH_DATABASE_URL", dsn}});
//   EXPECT_EQ(r.code, 0) << r.err;
#ifndef REGISTRY_AUTH_SERVER_SUBCOMMAND_TEST_UTIL_H_
#define REGISTRY_AUTH_SERVER_SUBCOMMAND_TEST_UTIL_H_

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "server/keys_cli.h"

namespace registryauth::server {

struct SubcommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

// The real stores (PostgreSQL through --database_url); only `env` is visible as environment.
inline SubcommandResult RunSubcommandForTest(const std::vector<std::string>& args,
                                             std::map<std::string, std::string> env = {}) {
  std::ostringstream out;
  std::ostringstream err;
  SubcommandIo io{&out, &err,
                  [env = std::move(env)](const char* name) -> std::optional<std::string> {
                    auto it = env.find(name);
                    if (it == env.end()) return std::nullopt;
                    return it->second;
                  },
                  nullptr};
  SubcommandResult r;
  r.code = RunSubcommand(args, io);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_SUBCOMMAND_TEST_UTIL_H_
