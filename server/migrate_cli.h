// `registry-authd migrate`: applies the schema migrations compiled into the binary
// (storage/migrations.h) and exits, for a deployment that runs the server with --migrate=false
// (a Kubernetes Job before a rollout, a step of a release pipeline). Dispatched by
// RunSubcommand (server/keys_cli.h); the logic lives here as a library so tests run it
// in-process against a real database.
//
//   registry-authd migrate [--database_url=DSN]
//
// --database_url falls back to REGAUTH_DATABASE_URL, as for the server. Migrations take the same
// advisory lock as a starting server, so running this beside servers that migrate themselves,
// or twice at once, is safe; running it again when the schema is current changes nothing.
// On success it prints one line:
//   schema at version 5 (0005_github_app); applied 2 migration(s): 0004_ghcr_pull_only, ...
// and notes versions the database has that this binary does not know (a newer release ran).
// The DSN (which may hold a password) is never printed: errors name the step and libpq's
// reason with the password removed.
//
// Exit codes: 0 the schema is current; 1 the database could not be reached or a migration
// failed (nothing after it was applied); 2 usage error.
//
// Thread-compatible.
#ifndef REGISTRY_AUTH_SERVER_MIGRATE_CLI_H_
#define REGISTRY_AUTH_SERVER_MIGRATE_CLI_H_

#include <string>
#include <vector>

#include "server/config.h"

namespace registryauth::server {

struct MigrateIo {
  std::ostream* out;
  std::ostream* err;
  EnvLookup env;
};

// Runs `migrate`; `args` excludes the program name and starts with "migrate". Returns the
// process exit code.
int RunMigrateCommand(const std::vector<std::string>& args, const MigrateIo& io);

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_MIGRATE_CLI_H_
