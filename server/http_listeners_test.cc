// The server's wiring of the HTTP adapter's listener settings (--metrics_listen,
// --http_max_connections), in adapter-only mode, which needs no database: the upstream is
// never called for /metrics and /healthz.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/support/http_client.h"

namespace registryauth::server {
namespace {

using ::registryauth::testing::HttpConnection;
using ::registryauth::testing::HttpReply;

ServerConfig AdapterConfig() {
  ServerConfig config;
  config.http_listen = "127.0.0.1:0";
  config.grpc_listen = "127.0.0.1:0";
  config.http_upstream = "127.0.0.1:9";  // never called by these requests
  return config;
}

TEST(HttpListenersTest, AdapterOnlyServesMetricsOnlyOnTheMetricsListener) {
  ServerConfig config = AdapterConfig();
  config.metrics_listen = "127.0.0.1:0";
  config.http_max_connections = 7;
  auto adapter = StartHttpAdapterOnly(config);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  ASSERT_GT((*adapter)->metrics_port(), 0);

  EXPECT_EQ(HttpConnection((*adapter)->port()).Request("GET", "/metrics").status, 404);
  EXPECT_EQ(HttpConnection((*adapter)->port()).Request("GET", "/healthz").status, 200);
  HttpReply m = HttpConnection((*adapter)->metrics_port()).Request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_TRUE(absl::StrContains(
      m.body, "http_server_requests_total{method=\"GET\",route=\"other\",status=\"404\"} 1\n"))
      << m.body;
  EXPECT_TRUE(absl::StrContains(m.body, "http_server_connections{listener=\"metrics\"} 1\n"))
      << m.body;
  (*adapter)->Shutdown();
}

TEST(HttpListenersTest, AdapterOnlyWithoutMetricsListenKeepsMetricsOnTheHttpListener) {
  auto adapter = StartHttpAdapterOnly(AdapterConfig());
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  EXPECT_EQ((*adapter)->metrics_port(), 0);
  HttpReply m = HttpConnection((*adapter)->port()).Request("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(absl::StrContains(m.body, "http_server_connections_refused_total")) << m.body;
}

}  // namespace
}  // namespace registryauth::server
