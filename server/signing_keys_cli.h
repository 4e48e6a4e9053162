// `registry-authd signing-keys`: the operator commands for the token signing-key set
// (crypto/token_signing_keys.h), run instead of the server when argv[1] is "signing-keys".
// The logic lives here as a library so tests run it in-process.
//
//   registry-authd signing-keys generate [--id=ID] [--alg=ES256|RS256]
//                                        [--cert_cn="registry-auth token signer"]
//                                        [--validity=1095d]
//   registry-authd signing-keys promote ID
//   registry-authd signing-keys remove ID [--max_token_ttl=24h] [--force] [--delete_files]
//   registry-authd signing-keys list [--max_token_ttl=24h]
//   registry-authd signing-keys export [--rootcertbundle=F] [--jwks=F]
//                                      [--kid_style=jwk-thumbprint|libtrust]
// Every command takes --token_signing_keys=F, the set file; like the server it falls back to
// REGAUTH_TOKEN_SIGNING_KEYS. export's --rootcertbundle / --jwks fall back to the server's
// REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE / REGAUTH_TOKEN_EXPORT_JWKS. A flag given on the command
// line wins. --max_token_ttl defaults to 24h, the longest --token_ttl the server accepts, so the
// default wait is always long enough; pass the server's --token_ttl to remove sooner.
//
// What each does:
//   generate  a fresh key (ES256 by default, RS256 = RSA 3072) written as <id>.key.pem (mode
//             0600, never overwritten) and a self-signed <id>.crt.pem (0644; CN --cert_cn,
//             valid from 5 minutes ago for --validity) next to the set file, added in state
//             `next`, or `active` when the set has no active key yet. Creates the set file
//             (mode 0644: it names files, it holds no key material) if it does not exist.
//             The default id is k<YYYYMMDD> (UTC), with -2, -3, ... when taken.
//   promote   the `next` key ID becomes `active`; the previous active key becomes
//             `retiring since=<now>`. Refused (file unchanged) unless the resulting set loads
//             as a server would load it (certificate matches, active certificate valid, ...).
//   remove    deletes a `retiring` key's entry once since + --max_token_ttl + 60 s have passed
//             (--force: at once). Its files stay where they are unless --delete_files.
//   list      id, state, algorithm, retiring since, certificate expiry and both key ids of
//             every key; never key material. A set that does not load is reported (exit 1)
//             with the entries the file names.
//   export    writes the rootcertbundle PEM (every published certificate) and/or the JWKS
//             (every published key; kid in --kid_style, default jwk-thumbprint) atomically,
//             mode 0644.
// The set file is rewritten atomically (temporary file + rename) and keeps its mode, owner and
// group; its comments are not kept. Servers pick up a changed set on SIGHUP; registries read
// the exports only when they start (deploy/signing-keys.md).
//
// Exit codes: 0 done; 1 failed or refused; 2 usage error.
//
// Thread-compatible.
#ifndef REGISTRY_AUTH_SERVER_SIGNING_KEYS_CLI_H_
#define REGISTRY_AUTH_SERVER_SIGNING_KEYS_CLI_H_

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace registryauth::server {

struct SigningKeysIo {
  std::ostream* out;
  std::ostream* err;
  // Environment lookup (the same type as server/config.h EnvLookup; ProcessEnv() in main).
  // Null: no environment.
  std::function<std::optional<std::string>(const char* name)> env;
  // Null: the real clock.
  const Clock* clock = nullptr;
};

// True if `first_arg` (argv[1]) is "signing-keys".
bool IsSigningKeysSubcommand(const std::string& first_arg);

// Runs `signing-keys <command> ...`; `args` excludes the program name and starts with
// "signing-keys". Returns the process exit code.
int RunSigningKeysCommand(const std::vector<std::string>& args, const SigningKeysIo& io);

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_SIGNING_KEYS_CLI_H_
