#include "auth/constant_time_find.h"

#include <openssl/crypto.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace registryauth::auth::internal {
namespace {

Sha256Digest DigestOf(unsigned char fill, unsigned char last) {
  Sha256Digest d;
  d.fill(fill);
  d[d.size() - 1] = last;
  return d;
}

std::vector<Sha256Digest> Table(std::size_t n) {
  std::vector<Sha256Digest> table;
  for (std::size_t i = 0; i < n; ++i)
    table.push_back(DigestOf(0xab, static_cast<unsigned char>(i)));
  return table;
}

// Runs ConstantTimeFind with a CRYPTO_memcmp that counts its calls.
std::optional<std::size_t> CountingFind(const std::vector<Sha256Digest>& table,
                                        const Sha256Digest& needle, std::size_t& calls) {
  calls = 0;
  return ConstantTimeFind(table, needle, [&calls](const void* a, const void* b, std::size_t n) {
    ++calls;
    EXPECT_EQ(n, 32u);
    return CRYPTO_memcmp(a, b, n);
  });
}

TEST(ConstantTimeFindTest, FindsEveryPosition) {
  const std::vector<Sha256Digest> table = Table(7);
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(ConstantTimeFind(table, table[i]), i);
  }
  EXPECT_EQ(ConstantTimeFind(table, DigestOf(0xab, 200)), std::nullopt);
  EXPECT_EQ(ConstantTimeFind(table, DigestOf(0xac, 0)), std::nullopt);  // first byte differs
}

TEST(ConstantTimeFindTest, EmptyTable) {
  EXPECT_EQ(ConstantTimeFind({}, DigestOf(0, 0)), std::nullopt);
}

// The security property: every entry is compared, whether the needle matches the first entry,
// the last one, or none; there is no early exit.
TEST(ConstantTimeFindTest, ComparesEveryEntryWhereverTheMatchIs) {
  const std::vector<Sha256Digest> table = Table(5);
  std::size_t calls = 0;
  EXPECT_EQ(CountingFind(table, table[0], calls), 0u);
  EXPECT_EQ(calls, table.size());
  EXPECT_EQ(CountingFind(table, table[2], calls), 2u);
  EXPECT_EQ(calls, table.size());
  EXPECT_EQ(CountingFind(table, table[4], calls), 4u);
  EXPECT_EQ(calls, table.size());
  EXPECT_EQ(CountingFind(table, DigestOf(1, 1), calls), std::nullopt);
  EXPECT_EQ(calls, table.size());
}

TEST(ConstantTimeFindTest, NonzeroCompareResultsOfAnySignAreMismatches) {
  const std::vector<Sha256Digest> table = Table(3);
  int next = -2;
  const auto result =
      ConstantTimeFind(table, table[0], [&next](const void*, const void*, std::size_t) {
        const int r = next;
        next = next == -2 ? 0 : 7;  // -2, 0, 7: only the middle entry "matches"
        return r;
      });
  EXPECT_EQ(result, 1u);
}

}  // namespace
}  // namespace registryauth::auth::internal
