// regauth-credential-helper / docker-credential-regauth: see helpers/credential_helper.h.
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "helpers/credential_helper.h"
#include "helpers/pull_token_minter.h"

namespace {

std::optional<std::string> Getenv(const std::string& name) {
  const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): one thread
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  registryauth::RealClock clock;
  registryauth::helpers::HelperIo io{&std::cin, &std::cout, &std::cerr, Getenv};
  registryauth::helpers::HelperDeps deps{&clock, registryauth::helpers::CreateGrpcPullTokenMinter};
  return registryauth::helpers::RunCredentialHelper(argc > 0 ? argv[0] : "", args, io, deps);
}
