#include "realm/basic_auth.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>

#include "absl/status/status.h"

namespace registryauth::realm {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict standard base64 with padding into `out`; false on any deviation.
bool DecodeBase64(std::string_view in, SecretString* out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (in.back() == '=') padding = in[in.size() - 2] == '=' ? 2 : 1;
  std::string decoded;
  decoded.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      int v;
      if (c == '=' && last && j >= 4 - padding) {
        v = 0;
      } else {
        v = DecodeChar(c);
        if (v < 0) {
          OPENSSL_cleanse(decoded.data(), decoded.size());
          return false;
        }
      }
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    const std::size_t bytes = last ? 3 - padding : 3;
    // Non-canonical encodings (bits set under the padding) are refused.
    if (last &&
        ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0))) {
      OPENSSL_cleanse(decoded.data(), decoded.size());
      return false;
    }
    for (std::size_t k = 0; k < bytes; ++k) {
      decoded.push_back(static_cast<char>((group >> (16 - 8 * k)) & 0xff));
    }
  }
  *out = SecretString(decoded);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

absl::Status Malformed() {
  return absl::InvalidArgumentError("malformed Basic authorization header");
}

}  // namespace

absl::StatusOr<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  if (header.size() > kMaxAuthorizationBytes) {
    return absl::InvalidArgumentError("authorization header too long");
  }
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size()) return Malformed();
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (Lower(header[i]) != kScheme[i]) {
      return absl::InvalidArgumentError("authorization scheme is not Basic");
    }
  }
  std::size_t i = kScheme.size();
  if (header[i] != ' ') return Malformed();
  while (i < header.size() && header[i] == ' ') ++i;
  std::string_view token = header.substr(i);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);

  SecretString decoded;
  if (!DecodeBase64(token, &decoded)) return Malformed();
  std::string_view text = decoded.view();
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return Malformed();
  std::string_view user = text.substr(0, colon);
  std::string_view password = text.substr(colon + 1);
  if (user.empty() || user.size() > kMaxUsernameBytes) {
    return absl::InvalidArgumentError("malformed Basic authorization: bad user name");
  }
  for (char c : user) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError("malformed Basic authorization: bad user name");
    }
  }
  if (password.empty()) {
    return absl::InvalidArgumentError("malformed Basic authorization: empty password");
  }
  BasicCredentials creds;
  creds.username = std::string(user);
  creds.password = SecretString(password);
  return creds;
}

std::string FormatBasicAuthorization(std::string_view username, std::string_view password) {
  std::string plain;
  plain.reserve(username.size() + 1 + password.size());
  plain.append(username).push_back(':');
  plain.append(password);
  std::string out = "Basic ";
  std::size_t i = 0;
  for (; i + 3 <= plain.size(); i += 3) {
    const std::uint32_t g = (static_cast<unsigned char>(plain[i]) << 16) |
                            (static_cast<unsigned char>(plain[i + 1]) << 8) |
                            static_cast<unsigned char>(plain[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(g >> (6 * k)) & 63]);
  }
  if (i < plain.size()) {
    std::uint32_t g = static_cast<unsigned char>(plain[i]) << 16;
    const bool two = i + 1 < plain.size();
    if (two) g |= static_cast<unsigned char>(plain[i + 1]) << 8;
    out.push_back(kAlphabet[(g >> 18) & 63]);
    out.push_back(kAlphabet[(g >> 12) & 63]);
    out.push_back(two ? kAlphabet[(g >> 6) & 63] : '=');
    out.push_back('=');
  }
  OPENSSL_cleanse(plain.data(), plain.size());
  return out;
}

}  // namespace registryauth::realm
