// Zeroizing containers for key material and decrypted credentials.
//
// SecretString owns bytes whose storage is wiped with OPENSSL_cleanse when freed, including
// intermediate buffers released while it grows (it is a vector with a sanitizing allocator, so
// there is no small-string buffer that would escape the wipe). It never prints its contents.
//
//   SecretString pat("ghp_...");
//   client.Login(pat.view());
//
// Thread-compatible, like std::string.
#ifndef REGISTRY_AUTH_COMMON_SECRET_H_
#define REGISTRY_AUTH_COMMON_SECRET_H_

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/crypto.h>

namespace registryauth {

// Allocator that wipes memory before returning it (tink internal/sanitizing_allocator.h).
template <typename T>
struct SanitizingAllocator {
  using value_type = T;
  SanitizingAllocator() = default;
  template <typename U>
  constexpr SanitizingAllocator(const SanitizingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const SanitizingAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const SanitizingAllocator<U>&) const noexcept {
    return false;
  }
};

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view s) : data_(s.begin(), s.end()) {}
  SecretString(const SecretString&) = default;
  SecretString& operator=(const SecretString&) = default;
  SecretString(SecretString&&) noexcept = default;
  SecretString& operator=(SecretString&&) noexcept = default;
  ~SecretString() = default;  // the allocator wipes

  std::string_view view() const { return std::string_view(data_.data(), data_.size()); }
  const unsigned char* bytes() const {
    return reinterpret_cast<const unsigned char*>(data_.data());
  }
  char* mutable_data() { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void resize(std::size_t n) { data_.resize(n); }
  void append(std::string_view s) { data_.insert(data_.end(), s.begin(), s.end()); }
  void clear() { data_.clear(); }

 private:
  std::vector<char, SanitizingAllocator<char>> data_;
};

// Wipes a std::string that held a secret (e.g. a protobuf field after it was copied into a
// SecretString). Covers the small-string buffer too, since data() points at it.
inline void WipeString(std::string& s) {
  if (s.capacity() > 0) OPENSSL_cleanse(&s[0], s.capacity());
  s.clear();
}

}  // namespace registryauth

#endif  // REGISTRY_AUTH_COMMON_SECRET_H_
