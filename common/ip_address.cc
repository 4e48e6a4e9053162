#include "common/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace registryauth {
namespace {

// Longest text worth handing to inet_pton ("ffff:...:255.255.255.255" is 45 bytes).
constexpr size_t kMaxLiteral = INET6_ADDRSTRLEN;

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.empty() || text.size() >= kMaxLiteral) return std::nullopt;
  const std::string z(text);  // inet_pton needs a terminated string
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, z.c_str(), out.bytes.data()) != 1) return std::nullopt;
    out.v4 = true;
    return out;
  }
  if (inet_pton(AF_INET6, z.c_str(), out.bytes.data()) != 1) return std::nullopt;
  out.v4 = false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(out.bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    IpAddress v4;
    v4.v4 = true;
    std::memcpy(v4.bytes.data(), out.bytes.data() + 12, 4);
    return v4;
  }
  return out;
}

}  // namespace registryauth
