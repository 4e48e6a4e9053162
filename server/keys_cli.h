// registry-authd's operator subcommands, run instead of the server when the first argument
// names one (server/main.cc). The whole logic lives here as a library so tests run it
// in-process against a real database.
//
//   registry-authd keys generate [--primary=true|false] [--key_file=F] [--database_url=D]
//   registry-authd keys promote ID [--key_file=F] [--database_url=D]
//   registry-authd keys usage    [--key_file=F] [--database_url=D]
//   registry-authd keys reencrypt [--batch_size=100] [--max_rows=N] [--key_file=F]
//                                 [--database_url=D]
//   registry-authd keys retire ID [--key_file=F] [--database_url=D]
//   registry-authd apikey
//   registry-authd migrate [--database_url=D]     (server/migrate_cli.h)
//
// --key_file falls back to REGAUTH_KEY_FILE and --database_url to REGAUTH_DATABASE_URL, as for
// the server. `usage` and `reencrypt` only read keys, so they also take the ring from
// REGAUTH_KEYS when no key file is given; the commands that edit the file need the file.
//
// What each does:
//   generate   adds a fresh random key with id (largest id + 1) and, unless --primary=false,
//              makes it the primary; creates the file (key 1) if it does not exist.
//   promote    makes an existing key the primary.
//   usage      how many stored secrets each key id encrypts, marking the primary and ids that
//              the key ring lacks (those secrets cannot be decrypted).
//   reencrypt  moves every stored secret under the primary, online, in batches
//              (services/secret_reencryption.h); prints progress and a summary, and the
//              resource names (never content) of secrets that do not decrypt.
//   retire     removes a key from the file; refuses while it is the primary or any stored
//              secret still uses it.
//   apikey     prints a new API key and the `api_key sha256:...` line for the caller policy.
// Key files are rewritten atomically (crypto/key_file.h). Servers pick up a changed key file on
// SIGHUP (RegistryAuthServer::ReloadKeys).
//
// Audit: each key operation given a database appends one audit row (caller
// "registry-authd keys", action KeyGenerate / KeyPromote / KeyReencrypt / KeyRetire, resource
// "keys/<id>", outcome, counts in the detail, peer "local:<OS user>"), refusals included. For
// generate and promote the database is optional; when given, it is checked before the file is
// touched. `usage` is a read and is not audited. Nothing ever prints or records key bytes.
//
// Exit codes: 0 done; 1 the operation failed or was refused (including a reencrypt run that
// left secrets it could not decrypt); 2 usage error.
//
// Thread-compatible.
#ifndef REGISTRY_AUTH_SERVER_KEYS_CLI_H_
#define REGISTRY_AUTH_SERVER_KEYS_CLI_H_

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::server {

// Opens the store behind --database_url (no migrations: the server owns the schema).
using StoreOpener =
    std::function<absl::StatusOr<std::unique_ptr<storage::RegistryStore>>(const std::string& dsn)>;

// The same for the token realm's store (token hashes also depend on the key ring).
using TokenStoreOpener =
    std::function<absl::StatusOr<std::unique_ptr<storage::TokenStore>>(const std::string& dsn)>;

struct SubcommandIo {
  std::ostream* out;
  std::ostream* err;
  EnvLookup env;
  // Null: the PostgreSQL store.
  StoreOpener open_store;
  // Null: the PostgreSQL token store.
  TokenStoreOpener open_token_store;
};

// True if `first_arg` (argv[1]) names a subcommand: "keys", "apikey" or "migrate".
bool IsSubcommand(const std::string& first_arg);

// Runs a subcommand; `args` excludes the program name and starts with "keys", "apikey" or
// "migrate".
// Returns the process exit code.
int RunSubcommand(const std::vector<std::string>& args, const SubcommandIo& io);

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_KEYS_CLI_H_
