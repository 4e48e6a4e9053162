// Fuzz target for the caller credentials api/ reads from the transport: API keys in request
// metadata (api::ApiKeyFromMetadata: `x-api-key`, `authorization: Bearer ...`) and the
// identity in a client certificate (api::IdentityFromCertificatePem).
//
// The input is read as metadata: lines alternate name, value, name, value, ... It is also tried
// whole as the single value of `authorization` and of `x-api-key`, and whole as a PEM
// certificate. Besides "never crash", it checks:
//   - an extracted key is 1..256 bytes of visible ASCII, exactly one credential entry was sent,
//     and the key is that entry's value (x-api-key) or its tail after "Bearer " (authorization);
//   - a certificate identity is non-empty, free of control characters, and "cn:..." or a
//     spiffe:// URI.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/peer_identity.h"
#include "common/secret.h"
#include "grpcpp/support/string_ref.h"

namespace {

using ::registryauth::SecretString;
using ::registryauth::api::ApiKeyFromMetadata;
using ::registryauth::api::IdentityFromCertificatePem;
using ::registryauth::api::kMaxApiKeySize;

[[noreturn]] void Fail() { std::abort(); }

void Check(bool condition) {
  if (!condition) Fail();
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void CheckMetadata(const std::vector<std::pair<std::string_view, std::string_view>>& entries) {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  for (const auto& [name, value] : entries) {
    metadata.emplace(grpc::string_ref(name.data(), name.size()),
                     grpc::string_ref(value.data(), value.size()));
  }
  const std::optional<SecretString> key = ApiKeyFromMetadata(metadata);
  if (!key.has_value()) return;

  const std::string_view k = key->view();
  Check(!k.empty() && k.size() <= kMaxApiKeySize);
  for (char c : k) Check(c >= 0x21 && c <= 0x7e);
  std::size_t credentials = 0;
  std::string_view source_name;
  std::string_view source_value;
  for (const auto& [name, value] : entries) {
    if (EqualsIgnoreCase(name, "x-api-key") || EqualsIgnoreCase(name, "authorization")) {
      ++credentials;
      source_name = name;
      source_value = value;
    }
  }
  Check(credentials == 1);
  if (EqualsIgnoreCase(source_name, "x-api-key")) {
    Check(source_value == k);
  } else {
    Check(source_value.size() > k.size() + 6);
    Check(EqualsIgnoreCase(source_value.substr(0, 7), "bearer "));
    Check(source_value.substr(source_value.size() - k.size()) == k);
    for (char c : source_value.substr(6, source_value.size() - 6 - k.size())) Check(c == ' ');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= input.size()) {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    lines.push_back(input.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2)
    entries.emplace_back(lines[i], lines[i + 1]);
  CheckMetadata(entries);
  CheckMetadata({{"authorization", input}});
  CheckMetadata({{"x-api-key", input}});

  if (const std::optional<std::string> id = IdentityFromCertificatePem(input)) {
    Check(!id->empty() && !HasControlCharacter(*id));
    Check(id->rfind("cn:", 0) == 0 || EqualsIgnoreCase(id->substr(0, 9), "spiffe://"));
  }
  return 0;
}
