// Replay main for libFuzzer-style targets built WITHOUT libFuzzer, so every fuzz target also
// runs as an ordinary (gcc-built) Bazel test:
//
//   fuzz_target_replay [--iterations=N] [--seed=S] <corpus file or directory>...
//
// It runs LLVMFuzzerTestOneInput on every seed file, then on N (default 20000) inputs derived
// from the seeds by deterministic pseudo-random mutations (std::mt19937_64 seeded with S,
// default 1): bit flips, byte overwrites, inserts, erases, truncation, chunk duplication,
// splicing two seeds, and inserting tokens that matter to line/base64/binary parsers. A target
// signals a bug by crashing or aborting, which fails the test. Exit status 2 means bad usage or
// an empty corpus (a replay test without seeds is a broken test).
//
// Not thread-safe (a main); one target per binary. Typical BUILD use:
//   cc_test(name = "x_fuzz_replay_test", srcs = ["x_fuzz.cc"], deps = [":fuzz_driver"],
//           data = [":x_corpus"], args = ["$(rootpaths :x_corpus)"])
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

constexpr std::size_t kMaxInputSize = 4096;

// clang-format off
constexpr std::string_view kTokens[] = {
    "\n", "\r\n", " ", "\t", "#", "=", "==", "+", "/", "0", "1", "4294967295", "4294967296",
    "primary ", "key ", "AAAA", std::string_view("\x00", 1), "\x01", "\xff", "\x7f",
    std::string_view("\x01\x00\x00\x00\x01", 5), std::string_view("\x01\x00\x00\x00\x02", 5)};
// clang-format on

void RunOne(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

bool ReadFile(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// Collects seed files from files and (non-recursively sorted) directories.
bool CollectSeeds(const std::string& arg, std::vector<std::string>& seeds) {
  std::error_code ec;
  const std::filesystem::path path(arg);
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (!entry.is_directory(ec)) files.push_back(entry.path());
    }
    if (ec) return false;
    std::sort(files.begin(), files.end());  // deterministic order
    for (const auto& file : files) {
      std::string content;
      if (!ReadFile(file, content)) return false;
      seeds.push_back(std::move(content));
    }
    return true;
  }
  std::string content;
  if (!ReadFile(path, content)) return false;
  seeds.push_back(std::move(content));
  return true;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::size_t Below(std::size_t n) {  // uniform in [0, n), n > 0
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::string Mutate(const std::vector<std::string>& pool) {
    std::string s = pool[Below(pool.size())];
    const std::size_t rounds = 1 + Below(4);
    for (std::size_t r = 0; r < rounds; ++r) MutateOnce(s, pool);
    if (s.size() > kMaxInputSize) s.resize(kMaxInputSize);
    return s;
  }

 private:
  void MutateOnce(std::string& s, const std::vector<std::string>& pool) {
    switch (Below(9)) {
      case 0:              // flip one bit
        if (!s.empty()) {  // the bit is drawn first, as in `s[Below(n)] ^= bit` (C++17 order)
          const char bit = static_cast<char>(1u << Below(8));
          char& c = s[Below(s.size())];
          c = static_cast<char>(c ^ bit);
        }
        break;
      case 1:  // overwrite one byte
        if (!s.empty()) s[Below(s.size())] = static_cast<char>(Below(256));
        break;
      case 2:  // insert one byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(Below(s.size() + 1)),
                 static_cast<char>(Below(256)));
        break;
      case 3:  // erase a short range
        if (!s.empty()) {
          const std::size_t pos = Below(s.size());
          s.erase(pos, 1 + Below(std::min<std::size_t>(8, s.size() - pos)));
        }
        break;
      case 4:  // truncate
        s.resize(Below(s.size() + 1));
        break;
      case 5: {  // duplicate a chunk in place
        if (s.empty()) break;
        const std::size_t pos = Below(s.size());
        const std::string chunk =
            s.substr(pos, 1 + Below(std::min<std::size_t>(32, s.size() - pos)));
        s.insert(Below(s.size() + 1), chunk);
        break;
      }
      case 6: {  // splice: prefix of this input + suffix of another
        const std::string& other = pool[Below(pool.size())];
        s = s.substr(0, Below(s.size() + 1)) + other.substr(Below(other.size() + 1));
        break;
      }
      case 7: {  // insert a token
        const std::string_view token = kTokens[Below(std::size(kTokens))];
        s.insert(Below(s.size() + 1), std::string(token));
        break;
      }
      default:  // overwrite with a token
        if (!s.empty()) {
          const std::string_view token = kTokens[Below(std::size(kTokens))];
          s.replace(Below(s.size()), token.size(), std::string(token));
        }
        break;
    }
  }

  std::mt19937_64 rng_;
};

bool ParseFlag(std::string_view arg, std::string_view name, std::uint64_t& value) {
  if (arg.substr(0, name.size()) != name) return false;
  const std::string digits(arg.substr(name.size()));
  char* end = nullptr;
  value = std::strtoull(digits.c_str(), &end, 10);
  return !digits.empty() && end != nullptr && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 20000;
  std::uint64_t seed = 1;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (ParseFlag(arg, "--iterations=", iterations) || ParseFlag(arg, "--seed=", seed)) continue;
    if (!CollectSeeds(argv[i], seeds)) {
      std::fprintf(stderr, "cannot read corpus %s\n", argv[i]);
      return 2;
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr,
                 "usage: %s [--iterations=N] [--seed=S] <corpus file or dir>...\n"
                 "(no seed inputs found)\n",
                 argv[0]);
    return 2;
  }
  for (const std::string& input : seeds) RunOne(input);
  // Mutants of mutants: keep a bounded pool so mutations can stack beyond four rounds.
  std::vector<std::string> pool = seeds;
  Mutator mutator(seed);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::string input = mutator.Mutate(pool);
    RunOne(input);
    if (pool.size() < seeds.size() + 256) {
      pool.push_back(std::move(input));
    } else {
      pool[seeds.size() + mutator.Below(256)] = std::move(input);
    }
  }
  std::printf("replayed %zu seed inputs and %llu mutations (seed %llu): no crash\n", seeds.size(),
              static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(seed));
  return 0;
}
