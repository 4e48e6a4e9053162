// Base64url (RFC 4648 §5) without padding, as JOSE uses it (RFC 7515 §2), and the RFC 4648 §6
// base32 encoding that Docker's libtrust key ids use.
//
// Decoding is strict, so that one token has exactly one spelling: only the 64 characters of the
// URL-safe alphabet ('A'-'Z', 'a'-'z', '0'-'9', '-', '_'), no '=' padding, no whitespace, no
// length of the form 4k+1 (it cannot hold whole bytes), and the unused low bits of the last
// character must be zero (otherwise "AB" and "AC" would both decode to the same byte). Errors are
// INVALID_ARGUMENT "invalid base64url" and never quote the input.
//
//   std::string text = Base64UrlEncode(bytes);            // "eyJhbGciOiJFUzI1NiJ9"
//   ASSIGN_OR_RETURN(std::string bytes, Base64UrlDecode(text));
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_CRYPTO_BASE64URL_H_
#define REGISTRY_AUTH_CRYPTO_BASE64URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace registryauth::crypto {

std::string Base64UrlEncode(std::string_view bytes);

absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);

// RFC 4648 §6 base32 (alphabet A-Z, 2-7), upper case, without '=' padding.
std::string Base32EncodeNoPadding(std::string_view bytes);

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_BASE64URL_H_
