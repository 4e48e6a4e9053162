// regauthctl: command-line client of registry-auth. See cli/regauthctl_lib.h and
// `regauthctl help`.
#include <iostream>
#include <string>
#include <vector>

#include "cli/regauthctl_lib.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  registryauth::cli::CliIo io{&std::cin, &std::cout, &std::cerr, registryauth::cli::EnvFromProcess};
  return registryauth::cli::RunRegauthctl(args, io, registryauth::cli::DefaultChannelFactory);
}
