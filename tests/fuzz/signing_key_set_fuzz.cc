// Fuzz target for the token signing-key set file parser (crypto::SigningKeySetFile::Parse):
// operator input that the server re-reads on SIGHUP and that decides which keys sign and which
// tokens registries accept.
//
// Besides "never crash", it checks invariants that a bug would break:
//   - a parsed set has valid, unique ids, at most one active key, `since` on exactly the
//     retiring keys (whole seconds), a private key for every active and next key and a
//     certificate for every key;
//   - Format() parses back to the same entries, and formatting again gives the same text;
//   - promoting any next key keeps exactly one active key (the old one retiring since the
//     promotion time) and removing any retiring key leaves the others untouched, and both
//     results still format into text that parses;
//   - a rejected input is INVALID_ARGUMENT, names a line that exists, and its message is one of
//     the fixed templates once digits are removed, so it never echoes text of the file.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "crypto/token_signing_keys.h"

namespace {

using ::registryauth::crypto::IsValidSigningKeyId;
using ::registryauth::crypto::SigningKeyEntry;
using ::registryauth::crypto::SigningKeySetFile;
using ::registryauth::crypto::SigningKeyState;

[[noreturn]] void Fail() { std::abort(); }

void Check(bool condition) {
  if (!condition) Fail();
}

std::string WithoutDigits(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c < '0' || c > '9') out.push_back(c);
  }
  return out;
}

bool IsKnownErrorSkeleton(const std::string& skeleton) {
  static const char* const kTemplates[] = {
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): split message
      "signing key set: line 1: expected 'key <id> <active|next|retiring> [private_key=<path>] "
      "cert=<path> [since=<RFC 3339 time>]'",
      "signing key set: line 1: key id must be 1 to 32 characters of [A-Za-z0-9._-], starting "
      "with a letter or digit",
      "signing key set: line 1: state must be active, next or retiring",
      "signing key set: line 1: unknown attribute (expected private_key=, cert= or since=)",
      "signing key set: line 1: repeated attribute",
      "signing key set: line 1: since must be an RFC 3339 time such as 2026-01-31T12:00:00Z "
      "(years 1970 to 9999)",
      "signing key set: line 1: empty or invalid path",
      "signing key set: line 1: missing or invalid cert=<path>",
      "signing key set: line 1: invalid private_key=<path>",
      "signing key set: line 1: an active or next key needs private_key=<path>",
      "signing key set: line 1: a retiring key needs since=<RFC 3339 time>",
      "signing key set: line 1: since must be whole seconds in the years 1970 to 9999",
      "signing key set: line 1: since= is only for retiring keys",
      "signing key set: line 1: duplicate key id (first on line 1)",
      "signing key set: line 1: second active key (first on line 1)",
  };
  for (const char* t : kTemplates) {
    if (skeleton == WithoutDigits(t)) return true;
  }
  return false;
}

std::size_t LineCount(std::string_view text) {
  std::size_t lines = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++lines;
    const std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return lines;
}

// The N of "signing key set: line N: ...", or 0.
std::size_t LineNumber(std::string_view message) {
  constexpr std::string_view kPrefix = "signing key set: line ";
  if (message.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::size_t n = 0;
  for (std::size_t i = kPrefix.size(); i < message.size() && message[i] >= '0' && message[i] <= '9';
       ++i) {
    if (n > 100000000) return 0;
    n = n * 10 + static_cast<std::size_t>(message[i] - '0');
  }
  return n;
}

void CheckEntries(const SigningKeySetFile& file) {
  std::set<std::string> ids;
  int active = 0;
  for (const SigningKeyEntry& e : file.entries()) {
    Check(IsValidSigningKeyId(e.id));
    Check(ids.insert(e.id).second);
    Check(!e.cert_path.empty());
    if (e.state == SigningKeyState::kActive) ++active;
    if (e.state != SigningKeyState::kRetiring) Check(!e.private_key_path.empty());
    Check(e.since.has_value() == (e.state == SigningKeyState::kRetiring));
    if (e.since.has_value()) {
      Check(*e.since == absl::FromUnixSeconds(absl::ToUnixSeconds(*e.since)));
    }
    Check(file.Find(e.id) != nullptr && file.Find(e.id)->id == e.id);
  }
  Check(active <= 1);
  Check((active == 1) == (file.Active() != nullptr));
}

void CheckRoundTrip(const SigningKeySetFile& file) {
  const std::string text = file.Format();
  auto again = SigningKeySetFile::Parse(text);
  Check(again.ok());
  Check(again->entries() == file.entries());
  Check(again->Format() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = SigningKeySetFile::Parse(input);
  if (!parsed.ok()) {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    const std::string_view message(parsed.status().message().data(),
                                   parsed.status().message().size());
    const std::size_t line = LineNumber(message);
    Check(line >= 1 && line <= LineCount(input));
    Check(IsKnownErrorSkeleton(WithoutDigits(message)));
    return 0;
  }

  const SigningKeySetFile& file = *parsed;
  CheckEntries(file);
  CheckRoundTrip(file);

  static const absl::Time kNow =
      absl::FromCivil(absl::CivilSecond(2026, 3, 1, 12, 0, 0), absl::UTCTimeZone());
  const SigningKeyEntry* active = file.Active();
  for (const SigningKeyEntry& e : file.entries()) {
    SigningKeySetFile promoted = file;
    const absl::Status p = promoted.Promote(e.id, kNow);
    Check(p.ok() == (e.state == SigningKeyState::kNext));
    if (p.ok()) {
      CheckEntries(promoted);
      Check(promoted.Active() != nullptr && promoted.Active()->id == e.id);
      if (active != nullptr) {
        const SigningKeyEntry* old = promoted.Find(active->id);
        Check(old != nullptr && old->state == SigningKeyState::kRetiring && old->since == kNow);
      }
      CheckRoundTrip(promoted);
    } else {
      Check(p.code() == absl::StatusCode::kFailedPrecondition);
    }

    SigningKeySetFile removed = file;
    const absl::Status r = removed.Remove(e.id);
    Check(r.ok() == (e.state == SigningKeyState::kRetiring));
    if (r.ok()) {
      Check(removed.entries().size() + 1 == file.entries().size());
      Check(removed.Find(e.id) == nullptr);
      CheckEntries(removed);
      CheckRoundTrip(removed);
    }
  }
  return 0;
}
