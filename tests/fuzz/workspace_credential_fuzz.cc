// Fuzz target for the `rbt_` workspace credentials (services/workspace_credentials.h): the
// password `rbt_<workspace>.<workspace create micros>.<expiry>.<hash key id>.<keyed hash>` that
// GetCredentials hands build workers and /token checks, and its narrowed form with the
// base64url repository list before the key id, minted and verified by the real
// WorkspaceCredentials on an in-memory store.
//
// Setup (once): workspaces `acme` and `other`; a genuine credential of each; and credentials
// that must never verify: one minted with another hash key under the same key id (forged), one
// of workspace `reborn` minted before it was deleted and re-created, one already expired and
// one expiring after pull_token_max_ttl. A genuine `acme` credential narrowed to `acme/api-*` and
// `acme/web`, and two made from it that must never verify: its list swapped for `acme/*`
// (base64url re-encoded, so only the keyed hash can tell) and its list cut out (an un-narrowed
// spelling). The clock stands still and nothing is cached.
//
// Input: `user\npassword\nworkspace\nedits`. In the user and password, `{U}` `{P}` stand for the
// genuine `acme` user name and password, `{O}` `{Q}` for `other`'s, `{G}` `{F}` for the forged
// one, `{E}` `{D}` for the re-created workspace's, `{X}` `{Y}` for the expired one and `{L}`
// `{M}` for the long-lived one, `{N}` `{R}` for the narrowed one, `{W}` for the widened password
// and `{T}` for the truncated one (both with `{N}`). A `build+` user name gives Verify its id;
// any other name is given whole. `workspace`, if not empty, is minted for, plain and narrowed
// to `<workspace>/web`. `edits` are (op, position, byte) triples applied to the genuine `acme`
// password (op bit 7 clear) or id (set): replace, insert or erase, so mutations reach every
// byte of a real password; the same edits are then applied to the narrowed credential.
//
// Besides "never crash", it aborts (with a message) when:
//   - Verify accepts an (id, password) pair that is not a genuine one, minted and unexpired:
//     forged, edited, expired, too long-lived, or of a deleted workspace;
//   - a genuine pair is refused, or an accepted one does not give a workspace credential of its
//     own workspace with pull+push on `<workspace>/*` only (a narrowed one: on exactly its
//     patterns, each inside `<workspace>/`);
//   - a refusal is not exactly InvalidCredentials() (UNAUTHENTICATED "invalid credentials", so
//     it can never quote the password);
//   - minting for an existing workspace fails or for anything else succeeds, or a freshly
//     minted credential does not verify (or verifies with another id or password); a narrowing
//     outside the workspace is not INVALID_ARGUMENT.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/base64url.h"
#include "crypto/keyring.h"
#include "model/model.h"
#include "services/token_realm_errors.h"
#include "services/token_realm_options.h"
#include "services/workspace_credentials.h"  // Principal, PrincipalKind
#include "storage/memory_store.h"

namespace {

using ::registryauth::FakeClock;
using ::registryauth::SecretString;
using ::registryauth::Workspace;
using ::registryauth::crypto::KeyRing;
using ::registryauth::services::CredentialNarrowing;
using ::registryauth::services::Credentials;
using ::registryauth::services::InvalidCredentials;
using ::registryauth::services::Principal;
using ::registryauth::services::PrincipalKind;
using ::registryauth::services::TokenRealmOptions;
using ::registryauth::services::WorkspaceCredentials;
using ::registryauth::storage::InMemoryRegistryStore;

constexpr absl::string_view kUserPrefix = "build+";  // services/principal.h kWorkspaceUserPrefix

void Fail(const char* what) {
  std::fprintf(stderr, "workspace_credential_fuzz: %s\n", what);
  std::abort();
}

void Check(bool condition, const char* what) {
  if (!condition) Fail(what);
}

std::unique_ptr<KeyRing> Ring(char key_byte) {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  keys.emplace_back(3, SecretString(std::string(32, key_byte)));
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::Create(std::move(keys), 3);
  Check(ring.ok(), "setup: key ring");
  return *std::move(ring);
}

TokenRealmOptions Options() {
  TokenRealmOptions o;
  o.service = "registry.fuzz";
  o.registry_host = "registry.fuzz:5000";
  o.cache_ttl = absl::ZeroDuration();
  return o;
}

// A minted credential: the id after `build+`, the password, its workspace and the patterns it
// was narrowed to (sorted; empty: `<workspace>/*`).
struct Minted {
  std::string user, id, password, workspace;
  std::vector<std::string> repositories;
};

Minted Mint(WorkspaceCredentials& minter, std::string_view workspace,
            const CredentialNarrowing& narrowing = {}) {
  absl::StatusOr<Credentials> c = minter.MintWorkspaceCredential(workspace, narrowing);
  Check(c.ok(), "setup: mint");
  Check(absl::StartsWith(c->username, kUserPrefix), "setup: user name");
  return {c->username, c->username.substr(kUserPrefix.size()), std::string(c->secret.view()),
          std::string(workspace), narrowing.repositories};
}

// `password` with its narrowed list (the fourth dot-separated field after `rbt_`) replaced by
// `field`, or removed when `field` is empty.
std::string ReplaceList(const std::string& password, const std::string& field) {
  std::vector<std::string> parts = absl::StrSplit(password, '.');
  Check(parts.size() == 6, "setup: a narrowed password has six fields");
  if (field.empty()) {
    parts.erase(parts.begin() + 3);
  } else {
    parts[3] = field;
  }
  return absl::StrJoin(parts, ".");
}

class Harness {
 public:
  Harness()
      : clock_(absl::FromUnixSeconds(1800000000)),
        ring_(Ring('k')),
        forger_ring_(Ring('K')),
        credentials_(store_, *ring_, clock_, Options(), /*can_sign=*/true),
        forger_(store_, *forger_ring_, clock_, Options(), /*can_sign=*/true) {
    Create("acme", absl::FromUnixMicros(1700000000123456));
    Create("other", absl::FromUnixSeconds(-86400));  // before 1970: a negative create time
    acme_ = Mint(credentials_, "acme");
    other_ = Mint(credentials_, "other");
    forged_ = Mint(forger_, "acme");
    CredentialNarrowing web;
    web.repositories = {"acme/web", "acme/api-*", "acme/web"};  // minted sorted, deduplicated
    narrowed_ = Mint(credentials_, "acme", web);
    narrowed_.repositories = {"acme/api-*", "acme/web"};
    widened_ = ReplaceList(narrowed_.password, registryauth::crypto::Base64UrlEncode("acme/*"));
    truncated_ = ReplaceList(narrowed_.password, "");

    Create("reborn", absl::FromUnixSeconds(1750000000));
    reborn_ = Mint(credentials_, "reborn");
    absl::StatusOr<Workspace> reborn = store_.GetWorkspace("reborn");
    Check(reborn.ok() && store_.DeleteWorkspace("reborn", reborn->version, true).ok(),
          "setup: delete reborn");
    Create("reborn", absl::FromUnixSeconds(1760000000));

    const absl::Time now = clock_.Now();
    clock_.Set(now - Options().pull_token_default_ttl - absl::Seconds(1));
    expired_ = Mint(credentials_, "acme");
    clock_.Set(now + Options().pull_token_max_ttl);
    long_lived_ = Mint(credentials_, "acme");
    clock_.Set(now);

    // The setup itself: genuine ones verify, the others do not.
    Check(Verify(acme_.id, acme_.password).ok(), "setup: acme credential refused");
    Check(Verify(other_.id, other_.password).ok(), "setup: other credential refused");
    Check(Verify(narrowed_.id, narrowed_.password).ok(), "setup: narrowed credential refused");
    Check(!Verify(narrowed_.id, widened_).ok(), "setup: a widened credential verifies");
    Check(!Verify(narrowed_.id, truncated_).ok(), "setup: a truncated credential verifies");
    for (const Minted* bad : {&forged_, &reborn_, &expired_, &long_lived_}) {
      Check(!Verify(bad->id, bad->password).ok(), "setup: a bad credential verifies");
    }
  }

  absl::StatusOr<Principal> Verify(std::string_view id, std::string_view password) const {
    return credentials_.Verify(id, password, clock_.Now());
  }

  std::string Expand(std::string_view text) const {
    return absl::StrReplaceAll(absl::string_view(text.data(), text.size()),
                               {{"{U}", acme_.user},
                                {"{P}", acme_.password},
                                {"{O}", other_.user},
                                {"{Q}", other_.password},
                                {"{G}", forged_.user},
                                {"{F}", forged_.password},
                                {"{E}", reborn_.user},
                                {"{D}", reborn_.password},
                                {"{X}", expired_.user},
                                {"{Y}", expired_.password},
                                {"{L}", long_lived_.user},
                                {"{M}", long_lived_.password},
                                {"{N}", narrowed_.user},
                                {"{R}", narrowed_.password},
                                {"{W}", widened_},
                                {"{T}", truncated_}});
  }

  // The genuine credential (id, password), if it is one.
  std::optional<Minted> Genuine(std::string_view id, std::string_view password) const {
    for (const Minted* m : {&acme_, &other_, &narrowed_}) {
      if (id == m->id && password == m->password) return *m;
    }
    return std::nullopt;
  }

  // Verify's answer must be acceptance exactly for `genuine`, with its principal.
  void CheckVerify(std::string_view id, std::string_view password,
                   const std::optional<Minted>& genuine) const {
    absl::StatusOr<Principal> p = Verify(id, password);
    if (!genuine.has_value()) {
      Check(!p.ok(), "a credential that was not minted (or is expired or revoked) verifies");
      Check(p.status() == InvalidCredentials(), "a refusal is not InvalidCredentials()");
      return;
    }
    Check(p.ok(), "a genuine credential is refused");
    Check(p->kind == PrincipalKind::kWorkspaceCredential, "principal kind");
    Check(p->subject == std::string(kUserPrefix) + std::string(id), "principal subject");
    Check(p->workspace_id == genuine->workspace, "principal workspace");
    const std::vector<std::string> patterns =
        genuine->repositories.empty() ? std::vector<std::string>{genuine->workspace + "/*"}
                                      : genuine->repositories;
    Check(p->grants.size() == patterns.size(), "principal grants: count");
    for (size_t i = 0; i < p->grants.size() && i < patterns.size(); ++i) {
      Check(p->grants[i].repository_pattern == patterns[i], "principal grants: pattern");
      Check(absl::StartsWith(p->grants[i].repository_pattern, genuine->workspace + "/"),
            "principal grants: outside the workspace");
      Check(p->grants[i].actions == std::set<std::string>{"pull", "push"},
            "principal grants: actions");
    }
  }

  void CheckMint(std::string_view workspace) {
    CheckMint(workspace, {});
    CredentialNarrowing web;
    web.repositories = {std::string(workspace) + "/web"};
    CheckMint(workspace, web);
    CredentialNarrowing outside;
    outside.repositories = {"elsewhere/web"};
    absl::StatusOr<Credentials> refused = credentials_.MintWorkspaceCredential(workspace, outside);
    Check(refused.status().code() == absl::StatusCode::kInvalidArgument,
          "a narrowing outside the workspace is not INVALID_ARGUMENT");
  }

  void CheckMint(std::string_view workspace, const CredentialNarrowing& narrowing) {
    absl::StatusOr<Credentials> c = credentials_.MintWorkspaceCredential(workspace, narrowing);
    const bool exists = workspace == "acme" || workspace == "other" || workspace == "reborn";
    if (!c.ok()) {
      Check(!exists, "minting for an existing workspace fails");
      Check(c.status().code() == absl::StatusCode::kInvalidArgument ||
                c.status().code() == absl::StatusCode::kNotFound,
            "minting fails with an unexpected code");
      return;
    }
    Check(exists, "minted for a workspace that does not exist");
    Check(absl::StartsWith(c->username, kUserPrefix), "minted user name");
    const std::string id = c->username.substr(kUserPrefix.size());
    const std::string password(c->secret.view());
    CheckVerify(id, password,
                Minted{c->username, id, password, std::string(workspace), narrowing.repositories});
    CheckVerify(acme_.id, password, std::nullopt);
    CheckVerify(id, acme_.password, std::nullopt);
    CheckVerify(id, password + "A", std::nullopt);
  }

  const Minted& acme() const { return acme_; }
  const Minted& narrowed() const { return narrowed_; }

 private:
  void Create(const char* id, absl::Time created) {
    Workspace w{id, id};
    w.create_time = created;
    Check(store_.CreateWorkspace(w).ok(), "setup: workspace");
  }

  FakeClock clock_;
  InMemoryRegistryStore store_;
  std::unique_ptr<KeyRing> ring_;
  std::unique_ptr<KeyRing> forger_ring_;  // same key id, other key bytes
  WorkspaceCredentials credentials_;
  WorkspaceCredentials forger_;
  Minted acme_, other_, forged_, reborn_, expired_, long_lived_, narrowed_;
  std::string widened_, truncated_;
};

// Applies (op, position, byte) triples to `password` (op bit 7 clear) or `id` (set).
void Edit(std::string_view edits, std::string& id, std::string& password) {
  for (size_t i = 0; i + 3 <= edits.size(); i += 3) {
    const auto op = static_cast<unsigned char>(edits[i]);
    const auto pos = static_cast<unsigned char>(edits[i + 1]);
    const char byte = edits[i + 2];
    std::string& s = (op & 0x80) != 0 ? id : password;
    switch (op % 3) {
      case 0:
        if (!s.empty()) s[pos % s.size()] = byte;
        break;
      case 1:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos % (s.size() + 1)), byte);
        break;
      default:
        if (!s.empty()) s.erase(pos % s.size(), 1);
        break;
    }
  }
}

// The next line of `rest` (up to '\n' or its end), removed from it.
std::string_view NextLine(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* const h = new Harness();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string user = h->Expand(NextLine(rest));
  const std::string password = h->Expand(NextLine(rest));
  const std::string_view workspace = NextLine(rest);
  const std::string_view edits = rest;

  const std::string id =
      absl::StartsWith(user, kUserPrefix) ? user.substr(kUserPrefix.size()) : user;
  h->CheckVerify(id, password, h->Genuine(id, password));

  if (!workspace.empty()) h->CheckMint(workspace);

  if (!edits.empty()) {
    for (const Minted* base : {&h->acme(), &h->narrowed()}) {
      std::string edited_id = base->id;
      std::string edited_password = base->password;
      Edit(edits, edited_id, edited_password);
      h->CheckVerify(edited_id, edited_password, h->Genuine(edited_id, edited_password));
    }
  }
  return 0;
}
