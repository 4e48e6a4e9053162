// Test helper: serves the real registry-auth API over in-memory stores
// (api/testing/in_memory_stack.h) on 127.0.0.1:<free port>, prints the port as one line on
// stdout, and runs until its stdin reaches EOF (so a test script that dies also stops it).
#include <iostream>
#include <memory>
#include <string>

#include "api/testing/in_memory_stack.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

int main() {
  registryauth::api::testing::InMemoryStack stack;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  stack.RegisterOn(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "fake_server: cannot listen\n";
    return 1;
  }
  std::cout << port << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  server->Shutdown();
  return 0;
}
