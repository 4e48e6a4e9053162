#include "cli/regauthctl_lib.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <iterator>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/grpc_code_name.h"
#include "common/secret.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::cli {
namespace {

using Stub = v1::RegistryAuthService::Stub;

constexpr char kUsage[] = R"(usage: regauthctl [global flags] <command>

Global flags:
  --addr=HOST:PORT   service address (default: $REGAUTH_ADDR or 127.0.0.1:50051)
  --json             print the response message as JSON (proto3 JSON mapping)
  --timeout=DUR      deadline of each call, e.g. 10s, 500ms (default 10s)
  --tls-ca=PATH      connect with TLS, trusting this CA bundle ($REGAUTH_TLS_CA)
  --tls-cert=PATH    client certificate for mutual TLS ($REGAUTH_TLS_CERT), with
  --tls-key=PATH     its private key ($REGAUTH_TLS_KEY)
  --api-key-file=PATH  read the API key from this file; default: $REGAUTH_API_KEY if set.
                     API keys are never accepted as argument values.
  --user=ID          act for this end user (x-registryauth-user; needs act_as_user)
  --request-id=ID    x-request-id of the call (default: the server generates one)

Commands:
  workspaces create <id> [--display-name=X]
  workspaces get <id>
  workspaces list [--page-size=N] [--page-token=T] [--all]
  workspaces update <id> --display-name=X [--etag=E]
  workspaces delete <id> [--force] [--etag=E]

  apps create <workspace> <app> [--display-name=X] [--registry=<registry-id>] [--public-pull]
  apps get <workspace> <app>
  apps list <workspace> [--page-size=N] [--page-token=T] [--all]
  apps update <workspace> <app> [--display-name=X] [--registry=<registry-id>]
      [--public-pull=true|false] [--etag=E]
  apps delete <workspace> <app> [--etag=E]

  registries create <workspace> <registry> --type=ghcr|acr|distribution|generic|github-app
      [--owner=O] [--login-server=H] [--username=U] [--url=URL] [--namespace=NS]
      [--app-id=ID] [--installation-id=N] [--repositories=R1,R2]
      [--permissions=NAME=LEVEL,...] [--display-name=X] [--default] [SECRET]
      (github-app: SECRET is the App's private key, e.g. --secret-file=app.private-key.pem)
  registries get <workspace> <registry>
  registries list <workspace> [--page-size=N] [--page-token=T] [--all]
  registries update <workspace> <registry> [--owner ... --display-name=X]
      [--default=true|false] [SECRET] [--etag=E]      (only the flags given are updated)
  registries delete <workspace> <registry> [--etag=E]

  members create <workspace> <user> --role=owner|admin|member [--status=active|invited]
  members get <workspace> <user>
  members list <workspace> [--page-size=N] [--page-token=T] [--all]
  members update <workspace> <user> [--role=R] [--status=active|invited|removed] [--etag=E]
  members delete <workspace> <user> [--etag=E]

  audit list [--resource=NAME] [--caller=ID] [--since=RFC3339] [--until=RFC3339]
      [--page-size=N] [--page-token=T] [--all]

  events list <workspace> [--repository=WS/APP] [--tag=T] [--digest=D]
      [--action=push|pull|mount|delete] [--actor=USER] [--since=RFC3339] [--until=RFC3339]
      [--page-size=N] [--page-token=T] [--all]
      the platform registry's pushes, pulls, mounts and deletes, newest first

  service-accounts create <workspace> <id> --grants=GRANTS [--display-name=X]
      [--expire=RFC3339]     prints the user name and the secret, once
  service-accounts get <workspace> <id>
  service-accounts list <workspace> [--page-size=N] [--page-token=T] [--all]
  service-accounts update <workspace> <id> [--grants=GRANTS] [--display-name=X]
      [--disabled=true|false] [--expire=RFC3339] [--etag=E]
  service-accounts delete <workspace> <id> [--etag=E]
  service-accounts regenerate-secret <workspace> <id> [--etag=E]
      GRANTS: PATTERN=ACTIONS[;PATTERN=ACTIONS...], e.g. "acme/*=pull,push;acme/api-*=pull"

  pull-tokens mint <workspace> <app> [--ttl=1h]   prints the user name and password, once
  pull-tokens list <workspace> [--app=A] [--page-size=N]
  pull-tokens revoke <workspace> <token-id>
  pull-tokens revoke-app <workspace> <app>

  SECRET is one of --secret-stdin (one trailing newline is trimmed), --secret-file=PATH or
  --secret-env=VAR. Secrets are never accepted as argument values and never printed.

  help               print this text
Exit codes: 0 ok, 1 the call failed, 2 usage error.
)";

// ---- Argument parsing ---------------------------------------------------------------------------

const std::set<std::string>& ValueFlags() {
  static const auto* flags = new std::set<std::string>{
      "addr", "timeout", "display-name", "registry", "page-size", "page-token", "etag", "type",
      "owner", "login-server", "username", "url", "namespace", "secret-file", "secret-env",
      "tls-ca", "tls-cert", "tls-key", "api-key-file", "user", "request-id", "role", "status",
      "resource", "caller", "since", "until", "grants", "expire", "disabled", "ttl", "app",
      "app-id", "installation-id", "repositories", "permissions",
      // events list
      "repository", "tag", "digest", "action", "actor"};
  return *flags;
}

const std::set<std::string>& BoolFlags() {
  static const auto* flags = new std::set<std::string>{
      "json", "all", "force", "secret-stdin", "default", "help", "public-pull"};
  return *flags;
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // bool flags hold "true" / "false"

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  std::string Get(const std::string& name) const {
    auto it = flags.find(name);
    return it == flags.end() ? "" : it->second;
  }
  bool Bool(const std::string& name) const { return Get(name) == "true"; }
};

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv) {
  Args args;
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positional || a.size() < 2 || a.compare(0, 2, "--") != 0) {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "api-key") {
      return absl::InvalidArgumentError(
          "API keys are not accepted on the command line (they would show in `ps`); use "
          "$REGAUTH_API_KEY or --api-key-file=PATH");
    }
    if (name == "secret") {
      return absl::InvalidArgumentError(
          "secrets are not accepted on the command line (they would show in `ps`); use "
          "--secret-stdin, --secret-file=PATH or --secret-env=VAR");
    }
    if (args.flags.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " given twice"));
    }
    if (BoolFlags().count(name)) {
      if (value.has_value() && *value != "true" && *value != "false") {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " takes true or false"));
      }
      args.flags[name] = value.value_or("true");
    } else if (ValueFlags().count(name)) {
      if (!value.has_value()) {
        if (i + 1 >= argv.size()) {
          return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
        }
        value = argv[++i];
      }
      args.flags[name] = *value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return args;
}

// ---- Output -----------------------------------------------------------------------------------

std::string Ts(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

// Prints `key: value` lines with the values aligned; empty values are left out.
void PrintKv(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t width = 0;
  for (const auto& [k, v] : kv) {
    if (!v.empty()) width = std::max(width, k.size());
  }
  for (const auto& [k, v] : kv) {
    if (v.empty()) continue;
    out << k << ':' << std::string(width - k.size() + 1, ' ') << v << '\n';
  }
}

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string LastSegment(const std::string& name) { return name.substr(name.rfind('/') + 1); }

std::string TypeName(v1::RegistryType t) {
  return t == v1::REGISTRY_TYPE_UNSPECIFIED ? "" : v1::RegistryType_Name(t);
}

void PrintWorkspace(std::ostream& out, const v1::Workspace& w) {
  PrintKv(out, {{"name", w.name()},
                {"display_name", w.display_name()},
                {"create_time", w.has_create_time() ? Ts(w.create_time()) : ""},
                {"update_time", w.has_update_time() ? Ts(w.update_time()) : ""},
                {"etag", w.etag()}});
}

void PrintApp(std::ostream& out, const v1::App& a) {
  PrintKv(out, {{"name", a.name()},
                {"display_name", a.display_name()},
                {"registry_config",
                 a.registry_config().empty() ? "(workspace default)" : a.registry_config()},
                {"repository", a.repository()},
                {"public_pull", a.public_pull() ? "true" : "false"},
                {"create_time", a.has_create_time() ? Ts(a.create_time()) : ""},
                {"update_time", a.has_update_time() ? Ts(a.update_time()) : ""},
                {"etag", a.etag()}});
}

void PrintRegistry(std::ostream& out, const v1::RegistryConfig& c) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"name", c.name()}, {"display_name", c.display_name()}, {"type", TypeName(c.type())}};
  switch (c.settings_case()) {
    case v1::RegistryConfig::kGhcr:
      kv.push_back({"owner", c.ghcr().owner()});
      break;
    case v1::RegistryConfig::kAcr:
      kv.push_back({"login_server", c.acr().login_server()});
      kv.push_back({"username", c.acr().username()});
      break;
    case v1::RegistryConfig::kDistribution:
      kv.push_back({"url", c.distribution().url()});
      kv.push_back({"namespace", c.distribution().repository_namespace()});
      kv.push_back({"username", c.distribution().username()});
      break;
    case v1::RegistryConfig::kGeneric:
      kv.push_back({"url", c.generic().url()});
      kv.push_back({"username", c.generic().username()});
      break;
    case v1::RegistryConfig::kGithubApp: {
      kv.push_back({"app_id", c.github_app().app_id()});
      kv.push_back({"installation_id", absl::StrCat(c.github_app().installation_id())});
      kv.push_back({"repositories", absl::StrJoin(c.github_app().repositories(), ",")});
      std::map<std::string, std::string> perms(c.github_app().permissions().begin(),
                                               c.github_app().permissions().end());
      kv.push_back({"permissions", absl::StrJoin(perms, ",", absl::PairFormatter("="))});
      break;
    }
    default:
      break;
  }
  // `secret` is never printed, even if a server were to send it.
  kv.push_back({"has_secret", c.has_secret() ? "true" : "false"});
  kv.push_back({"secret_hint", c.secret_hint()});
  kv.push_back({"default", c.is_default() ? "true" : "false"});
  kv.push_back({"validation", v1::ValidationStatus_Name(c.validation_status())});
  kv.push_back({"validated_at", c.has_validated_at() ? Ts(c.validated_at()) : ""});
  kv.push_back({"last_validation_error", c.last_validation_error()});
  kv.push_back({"credential_expire_time",
                c.has_credential_expire_time() ? Ts(c.credential_expire_time()) : ""});
  kv.push_back({"create_time", c.has_create_time() ? Ts(c.create_time()) : ""});
  kv.push_back({"update_time", c.has_update_time() ? Ts(c.update_time()) : ""});
  kv.push_back({"etag", c.etag()});
  PrintKv(out, kv);
}

// ---- Command context ----------------------------------------------------------------------------

class UsageError {
 public:
  explicit UsageError(std::string message) : message_(std::move(message)) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// Result of a command: exit code, or a usage error to report.
struct Outcome {
  int code = 0;
  std::optional<UsageError> usage;
  static Outcome Usage(std::string m) { return Outcome{2, UsageError(std::move(m))}; }
  static Outcome Code(int c) { return Outcome{c, std::nullopt}; }
};

// Metadata sent with every call.
struct CallMetadata {
  SecretString api_key;
  std::string user;
  std::string request_id;
};

class Command {
 public:
  Command(const CliIo& io, Args args, std::unique_ptr<Stub> stub, bool json, absl::Duration timeout,
          CallMetadata metadata)
      : io_(io),
        args_(std::move(args)),
        stub_(std::move(stub)),
        json_(json),
        timeout_(timeout),
        metadata_(std::move(metadata)) {}

  const Args& args() const { return args_; }
  Stub& stub() { return *stub_; }
  bool json() const { return json_; }
  std::ostream& out() { return *io_.out; }
  const CliIo& io() const { return io_; }

  // Runs one unary RPC with the deadline; prints `error: CODE: message` on failure.
  template <typename Req, typename Resp>
  bool Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
            const Req& request, Resp* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    if (!metadata_.api_key.empty()) {
      // gRPC copies the value into the call; the copy made here is wiped right away.
      std::string key(metadata_.api_key.view());
      context.AddMetadata("x-api-key", key);
      WipeString(key);
    }
    if (!metadata_.user.empty()) context.AddMetadata("x-registryauth-user", metadata_.user);
    if (!metadata_.request_id.empty()) context.AddMetadata("x-request-id", metadata_.request_id);
    grpc::Status status = (stub_.get()->*method)(&context, request, response);
    if (!status.ok()) {
      *io_.err << "error: " << CodeName(status.error_code()) << ": " << status.error_message();
      const auto& initial = context.GetServerInitialMetadata();
      if (auto it = initial.find("x-request-id"); it != initial.end()) {
        *io_.err << " (request id " << std::string(it->second.data(), it->second.size()) << ")";
      }
      *io_.err << '\n';
      return false;
    }
    return true;
  }

  void PrintJson(const google::protobuf::Message& m) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(m, &text, options).ok()) text = "{}";
    if (text.empty() || text.back() != '\n') text.push_back('\n');
    out() << text;
  }

  static std::string CodeName(grpc::StatusCode code) {
    const std::string_view name = GrpcCodeName(code);
    return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : std::string(name);
  }

 private:
  const CliIo& io_;
  Args args_;
  std::unique_ptr<Stub> stub_;
  bool json_;
  absl::Duration timeout_;
  CallMetadata metadata_;
};

// Checks positional count and that only `allowed` (plus global) flags were given.
std::optional<UsageError> Expect(const Args& args, size_t positional,
                                 std::set<std::string> allowed) {
  for (const char* g : {"addr", "json", "timeout", "help", "tls-ca", "tls-cert", "tls-key",
                        "api-key-file", "user", "request-id"}) {
    allowed.insert(g);
  }
  for (const auto& [name, value] : args.flags) {
    if (!allowed.count(name)) return UsageError(absl::StrCat("flag --", name, " not valid here"));
  }
  // positional[0..1] are the resource and verb.
  if (args.positional.size() != positional + 2) {
    return UsageError(absl::StrCat("expected ", positional, " argument(s) after \"",
                                   args.positional[0], " ", args.positional[1], "\""));
  }
  for (size_t i = 2; i < args.positional.size(); ++i) {
    const std::string& id = args.positional[i];
    if (id.empty() || id.find('/') != std::string::npos) {
      return UsageError(absl::StrCat("invalid id \"", id, "\""));
    }
  }
  return std::nullopt;
}

std::string WsName(const std::string& ws) { return absl::StrCat("workspaces/", ws); }

absl::StatusOr<int32_t> PageSize(const Args& args) {
  if (!args.Has("page-size")) return 0;
  int32_t n;
  if (!absl::SimpleAtoi(args.Get("page-size"), &n) || n < 0) {
    return absl::InvalidArgumentError("--page-size must be a non-negative integer");
  }
  return n;
}

// Reads the secret from the one source given; nullopt if none was given.
absl::StatusOr<std::optional<SecretString>> ReadSecret(const Args& args, const CliIo& io) {
  const int sources = args.Bool("secret-stdin") + args.Has("secret-file") + args.Has("secret-env");
  if (sources == 0) return std::optional<SecretString>();
  if (sources > 1) {
    return absl::InvalidArgumentError(
        "give only one of --secret-stdin, --secret-file, --secret-env");
  }
  SecretString secret;
  auto read_all = [&secret](std::istream& in) {
    char buf[4096];
    while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
      secret.append(std::string_view(buf, static_cast<size_t>(in.gcount())));
      OPENSSL_cleanse(buf, sizeof(buf));
    }
  };
  if (args.Bool("secret-stdin")) {
    read_all(*io.in);
  } else if (args.Has("secret-file")) {
    std::ifstream file(args.Get("secret-file"), std::ios::binary);
    if (!file) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --secret-file ", args.Get("secret-file")));
    }
    read_all(file);
  } else {
    std::optional<std::string> value = io.getenv(args.Get("secret-env"));
    if (!value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", args.Get("secret-env"), " is not set"));
    }
    secret.append(*value);
    WipeString(*value);
  }
  // Trim one trailing newline (what `echo` or a text editor adds).
  if (!secret.empty() && secret.view().back() == '\n') {
    secret.resize(secret.size() - 1);
    if (!secret.empty() && secret.view().back() == '\r') secret.resize(secret.size() - 1);
  }
  if (secret.empty()) return absl::InvalidArgumentError("the secret is empty");
  return std::optional<SecretString>(std::move(secret));
}

// Wipes a request's secret when it goes out of scope.
class SecretWiper {
 public:
  explicit SecretWiper(std::string* s) : s_(s) {}
  ~SecretWiper() { WipeString(*s_); }
  SecretWiper(const SecretWiper&) = delete;
  SecretWiper& operator=(const SecretWiper&) = delete;

 private:
  std::string* s_;
};

// ---- workspaces -------------------------------------------------------------------------------

Outcome Workspaces(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  if (verb == "create") {
    if (auto e = Expect(a, 1, {"display-name"})) return Outcome::Usage(e->message());
    v1::CreateWorkspaceRequest req;
    req.set_workspace_id(a.positional[2]);
    req.mutable_workspace()->set_display_name(a.Get("display-name"));
    v1::Workspace resp;
    if (!cmd.Call(&Stub::CreateWorkspace, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintWorkspace(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "get") {
    if (auto e = Expect(a, 1, {})) return Outcome::Usage(e->message());
    v1::GetWorkspaceRequest req;
    req.set_name(WsName(a.positional[2]));
    v1::Workspace resp;
    if (!cmd.Call(&Stub::GetWorkspace, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintWorkspace(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 0, {"page-size", "page-token", "all"})) {
      return Outcome::Usage(e->message());
    }
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListWorkspacesRequest req;
    req.set_page_size(*size);
    req.set_page_token(a.Get("page-token"));
    v1::ListWorkspacesResponse all;
    std::set<std::string> seen_tokens;
    while (true) {
      v1::ListWorkspacesResponse page;
      if (!cmd.Call(&Stub::ListWorkspaces, req, &page)) return Outcome::Code(1);
      all.mutable_workspaces()->MergeFrom(page.workspaces());
      all.set_next_page_token(page.next_page_token());
      if (!a.Bool("all") || page.next_page_token().empty() ||
          !seen_tokens.insert(page.next_page_token()).second) {
        break;
      }
      req.set_page_token(page.next_page_token());
    }
    if (cmd.json()) {
      cmd.PrintJson(all);
    } else {
      std::vector<std::vector<std::string>> rows = {{"NAME", "DISPLAY NAME", "UPDATED"}};
      for (const auto& w : all.workspaces()) {
        rows.push_back({LastSegment(w.name()), w.display_name(),
                        w.has_update_time() ? Ts(w.update_time()) : ""});
      }
      PrintTable(cmd.out(), rows);
      if (!all.next_page_token().empty()) {
        cmd.out() << "next page: --page-token=" << all.next_page_token() << '\n';
      }
    }
    return Outcome::Code(0);
  }
  if (verb == "update") {
    if (auto e = Expect(a, 1, {"display-name", "etag"})) return Outcome::Usage(e->message());
    if (!a.Has("display-name")) return Outcome::Usage("nothing to update: give --display-name");
    v1::UpdateWorkspaceRequest req;
    req.mutable_workspace()->set_name(WsName(a.positional[2]));
    req.mutable_workspace()->set_display_name(a.Get("display-name"));
    req.mutable_workspace()->set_etag(a.Get("etag"));
    req.mutable_update_mask()->add_paths("display_name");
    v1::Workspace resp;
    if (!cmd.Call(&Stub::UpdateWorkspace, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintWorkspace(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "delete") {
    if (auto e = Expect(a, 1, {"force", "etag"})) return Outcome::Usage(e->message());
    v1::DeleteWorkspaceRequest req;
    req.set_name(WsName(a.positional[2]));
    req.set_etag(a.Get("etag"));
    req.set_force(a.Bool("force"));
    google::protobuf::Empty resp;
    if (!cmd.Call(&Stub::DeleteWorkspace, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : void(cmd.out() << "deleted " << req.name() << '\n');
    return Outcome::Code(0);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"workspaces ", verb, "\""));
}

// ---- apps ---------------------------------------------------------------------------------------

std::string RegistryRef(const std::string& ws, const std::string& value) {
  if (value.empty() || value.find('/') != std::string::npos) return value;
  return absl::StrCat(WsName(ws), "/registries/", value);
}

Outcome Apps(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  auto app_name = [&] { return absl::StrCat(WsName(a.positional[2]), "/apps/", a.positional[3]); };
  if (verb == "create") {
    if (auto e = Expect(a, 2, {"display-name", "registry", "public-pull"})) {
      return Outcome::Usage(e->message());
    }
    v1::CreateAppRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_app_id(a.positional[3]);
    req.mutable_app()->set_display_name(a.Get("display-name"));
    req.mutable_app()->set_registry_config(RegistryRef(a.positional[2], a.Get("registry")));
    req.mutable_app()->set_public_pull(a.Bool("public-pull"));
    v1::App resp;
    if (!cmd.Call(&Stub::CreateApp, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintApp(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "get") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::GetAppRequest req;
    req.set_name(app_name());
    v1::App resp;
    if (!cmd.Call(&Stub::GetApp, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintApp(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 1, {"page-size", "page-token", "all"})) {
      return Outcome::Usage(e->message());
    }
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListAppsRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_page_size(*size);
    req.set_page_token(a.Get("page-token"));
    v1::ListAppsResponse all;
    std::set<std::string> seen_tokens;
    while (true) {
      v1::ListAppsResponse page;
      if (!cmd.Call(&Stub::ListApps, req, &page)) return Outcome::Code(1);
      all.mutable_apps()->MergeFrom(page.apps());
      all.set_next_page_token(page.next_page_token());
      if (!a.Bool("all") || page.next_page_token().empty() ||
          !seen_tokens.insert(page.next_page_token()).second) {
        break;
      }
      req.set_page_token(page.next_page_token());
    }
    if (cmd.json()) {
      cmd.PrintJson(all);
    } else {
      std::vector<std::vector<std::string>> rows = {{"NAME", "REGISTRY", "REPOSITORY"}};
      for (const auto& app : all.apps()) {
        rows.push_back(
            {LastSegment(app.name()),
             app.registry_config().empty() ? "(default)" : LastSegment(app.registry_config()),
             app.repository()});
      }
      PrintTable(cmd.out(), rows);
      if (!all.next_page_token().empty()) {
        cmd.out() << "next page: --page-token=" << all.next_page_token() << '\n';
      }
    }
    return Outcome::Code(0);
  }
  if (verb == "update") {
    if (auto e = Expect(a, 2, {"display-name", "registry", "public-pull", "etag"})) {
      return Outcome::Usage(e->message());
    }
    v1::UpdateAppRequest req;
    req.mutable_app()->set_name(app_name());
    req.mutable_app()->set_etag(a.Get("etag"));
    if (a.Has("display-name")) {
      req.mutable_app()->set_display_name(a.Get("display-name"));
      req.mutable_update_mask()->add_paths("display_name");
    }
    if (a.Has("registry")) {
      req.mutable_app()->set_registry_config(RegistryRef(a.positional[2], a.Get("registry")));
      req.mutable_update_mask()->add_paths("registry_config");
    }
    if (a.Has("public-pull")) {
      req.mutable_app()->set_public_pull(a.Bool("public-pull"));
      req.mutable_update_mask()->add_paths("public_pull");
    }
    if (req.update_mask().paths().empty()) {
      return Outcome::Usage(
          "nothing to update: give --display-name, --registry and/or --public-pull");
    }
    v1::App resp;
    if (!cmd.Call(&Stub::UpdateApp, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintApp(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "delete") {
    if (auto e = Expect(a, 2, {"etag"})) return Outcome::Usage(e->message());
    v1::DeleteAppRequest req;
    req.set_name(app_name());
    req.set_etag(a.Get("etag"));
    google::protobuf::Empty resp;
    if (!cmd.Call(&Stub::DeleteApp, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : void(cmd.out() << "deleted " << req.name() << '\n');
    return Outcome::Code(0);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"apps ", verb, "\""));
}

// ---- registries ---------------------------------------------------------------------------------

const std::set<std::string> kSettingFlags = {
    "owner",  "login-server",    "username",     "url",        "namespace",
    "app-id", "installation-id", "repositories", "permissions"};

absl::StatusOr<v1::RegistryType> ParseType(const std::string& s) {
  const std::string t = absl::AsciiStrToLower(s);
  if (t == "ghcr") return v1::GHCR;
  if (t == "acr") return v1::ACR;
  if (t == "distribution") return v1::DISTRIBUTION;
  if (t == "generic") return v1::GENERIC;
  if (t == "github-app" || t == "github_app") return v1::GITHUB_APP;
  return absl::InvalidArgumentError(
      "--type must be ghcr, acr, distribution, generic or github-app");
}

// Applies the setting flags given to the settings message of `type`; adds each field's mask
// path to `paths`. A flag that the type has no field for is a usage error.
absl::Status ApplySettings(const Args& a, v1::RegistryType type, v1::RegistryConfig* c,
                           std::vector<std::string>* paths) {
  struct Target {
    const char* flag;
    const char* path;
    std::function<absl::Status(const std::string&)> set;
  };
  // Most settings are plain strings.
  auto str = [](std::function<void(const std::string&)> f) {
    return [f](const std::string& v) {
      f(v);
      return absl::OkStatus();
    };
  };
  std::vector<Target> targets;
  switch (type) {
    case v1::GHCR:
      targets = {{"owner", "ghcr.owner",
                  str([c](const std::string& v) { c->mutable_ghcr()->set_owner(v); })}};
      c->mutable_ghcr();
      break;
    case v1::ACR:
      targets = {{"login-server", "acr.login_server",
                  str([c](const std::string& v) { c->mutable_acr()->set_login_server(v); })},
                 {"username", "acr.username",
                  str([c](const std::string& v) { c->mutable_acr()->set_username(v); })}};
      c->mutable_acr();
      break;
    case v1::DISTRIBUTION:
      targets = {{"url", "distribution.url",
                  str([c](const std::string& v) { c->mutable_distribution()->set_url(v); })},
                 {"namespace", "distribution.repository_namespace", str([c](const std::string& v) {
                    c->mutable_distribution()->set_repository_namespace(v);
                  })},
                 {"username", "distribution.username",
                  str([c](const std::string& v) { c->mutable_distribution()->set_username(v); })}};
      c->mutable_distribution();
      break;
    case v1::GENERIC:
      targets = {{"url", "generic.url",
                  str([c](const std::string& v) { c->mutable_generic()->set_url(v); })},
                 {"username", "generic.username",
                  str([c](const std::string& v) { c->mutable_generic()->set_username(v); })}};
      c->mutable_generic();
      break;
    case v1::GITHUB_APP:
      targets = {
          {"app-id", "github_app.app_id",
           str([c](const std::string& v) { c->mutable_github_app()->set_app_id(v); })},
          {"installation-id", "github_app.installation_id",
           [c](const std::string& v) {
             int64_t id = 0;
             if (!absl::SimpleAtoi(v, &id) || id <= 0) {
               return absl::InvalidArgumentError("--installation-id must be a positive number");
             }
             c->mutable_github_app()->set_installation_id(id);
             return absl::OkStatus();
           }},
          {"repositories", "github_app.repositories",
           [c](const std::string& v) {
             c->mutable_github_app()->clear_repositories();
             for (absl::string_view r : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
               c->mutable_github_app()->add_repositories(
                   std::string(absl::StripAsciiWhitespace(r)));
             }
             return absl::OkStatus();
           }},
          {"permissions", "github_app.permissions", [c](const std::string& v) {
             auto* perms = c->mutable_github_app()->mutable_permissions();
             perms->clear();
             for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
               std::pair<std::string, std::string> kv =
                   absl::StrSplit(absl::StripAsciiWhitespace(p), absl::MaxSplits('=', 1));
               if (kv.first.empty() || kv.second.empty()) {
                 return absl::InvalidArgumentError(
                     "--permissions must be NAME=LEVEL[,NAME=LEVEL...], e.g. contents=read");
               }
               (*perms)[kv.first] = kv.second;
             }
             return absl::OkStatus();
           }}};
      c->mutable_github_app();
      break;
    default:
      return absl::InvalidArgumentError("unknown registry type");
  }
  for (const std::string& flag : kSettingFlags) {
    if (!a.Has(flag)) continue;
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const Target& t) { return flag == t.flag; });
    if (it == targets.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " does not apply to type ", TypeName(type)));
    }
    if (absl::Status s = it->set(a.Get(flag)); !s.ok()) return s;
    paths->push_back(it->path);
  }
  return absl::OkStatus();
}

std::string RegName(const Args& a) {
  return absl::StrCat(WsName(a.positional[2]), "/registries/", a.positional[3]);
}

Outcome Registries(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  std::set<std::string> setting_flags = kSettingFlags;
  for (const char* f : {"display-name", "default", "secret-stdin", "secret-file", "secret-env"}) {
    setting_flags.insert(f);
  }
  if (verb == "create") {
    std::set<std::string> allowed = setting_flags;
    allowed.insert("type");
    if (auto e = Expect(a, 2, allowed)) return Outcome::Usage(e->message());
    if (!a.Has("type")) return Outcome::Usage("--type is required");
    absl::StatusOr<v1::RegistryType> type = ParseType(a.Get("type"));
    if (!type.ok()) return Outcome::Usage(std::string(type.status().message()));
    v1::CreateRegistryConfigRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_registry_id(a.positional[3]);
    v1::RegistryConfig* c = req.mutable_registry_config();
    SecretWiper wipe(c->mutable_secret());
    c->set_type(*type);
    c->set_display_name(a.Get("display-name"));
    c->set_is_default(a.Bool("default"));
    std::vector<std::string> paths;
    if (absl::Status s = ApplySettings(a, *type, c, &paths); !s.ok()) {
      return Outcome::Usage(std::string(s.message()));
    }
    absl::StatusOr<std::optional<SecretString>> secret = ReadSecret(a, cmd.io());
    if (!secret.ok()) return Outcome::Usage(std::string(secret.status().message()));
    if (secret->has_value()) {
      c->mutable_secret()->assign((*secret)->view().data(), (*secret)->view().size());
    }
    v1::RegistryConfig resp;
    if (!cmd.Call(&Stub::CreateRegistryConfig, req, &resp)) return Outcome::Code(1);
    resp.clear_secret();
    cmd.json() ? cmd.PrintJson(resp) : PrintRegistry(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "get") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::GetRegistryConfigRequest req;
    req.set_name(RegName(a));
    v1::RegistryConfig resp;
    if (!cmd.Call(&Stub::GetRegistryConfig, req, &resp)) return Outcome::Code(1);
    resp.clear_secret();
    cmd.json() ? cmd.PrintJson(resp) : PrintRegistry(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 1, {"page-size", "page-token", "all"})) {
      return Outcome::Usage(e->message());
    }
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListRegistryConfigsRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_page_size(*size);
    req.set_page_token(a.Get("page-token"));
    v1::ListRegistryConfigsResponse all;
    std::set<std::string> seen_tokens;
    while (true) {
      v1::ListRegistryConfigsResponse page;
      if (!cmd.Call(&Stub::ListRegistryConfigs, req, &page)) return Outcome::Code(1);
      all.mutable_registry_configs()->MergeFrom(page.registry_configs());
      all.set_next_page_token(page.next_page_token());
      if (!a.Bool("all") || page.next_page_token().empty() ||
          !seen_tokens.insert(page.next_page_token()).second) {
        break;
      }
      req.set_page_token(page.next_page_token());
    }
    for (auto& c : *all.mutable_registry_configs()) c.clear_secret();
    if (cmd.json()) {
      cmd.PrintJson(all);
    } else {
      std::vector<std::vector<std::string>> rows = {
          {"NAME", "TYPE", "DEFAULT", "VALIDATION", "HINT"}};
      for (const auto& c : all.registry_configs()) {
        rows.push_back({LastSegment(c.name()), TypeName(c.type()), c.is_default() ? "yes" : "",
                        v1::ValidationStatus_Name(c.validation_status()), c.secret_hint()});
      }
      PrintTable(cmd.out(), rows);
      if (!all.next_page_token().empty()) {
        cmd.out() << "next page: --page-token=" << all.next_page_token() << '\n';
      }
    }
    return Outcome::Code(0);
  }
  if (verb == "update") {
    std::set<std::string> allowed = setting_flags;
    allowed.insert("etag");
    if (auto e = Expect(a, 2, allowed)) return Outcome::Usage(e->message());
    absl::StatusOr<std::optional<SecretString>> secret = ReadSecret(a, cmd.io());
    if (!secret.ok()) return Outcome::Usage(std::string(secret.status().message()));
    v1::UpdateRegistryConfigRequest req;
    v1::RegistryConfig* c = req.mutable_registry_config();
    SecretWiper wipe(c->mutable_secret());
    c->set_name(RegName(a));
    c->set_etag(a.Get("etag"));
    std::vector<std::string> paths;
    if (a.Has("display-name")) {
      c->set_display_name(a.Get("display-name"));
      paths.push_back("display_name");
    }
    if (a.Has("default")) {
      c->set_is_default(a.Bool("default"));
      paths.push_back("is_default");
    }
    if (secret->has_value()) {
      c->mutable_secret()->assign((*secret)->view().data(), (*secret)->view().size());
      paths.push_back("secret");
    }
    const bool settings = std::any_of(kSettingFlags.begin(), kSettingFlags.end(),
                                      [&](const std::string& f) { return a.Has(f); });
    if (settings) {
      // The settings message depends on the type, which cannot change: read it first.
      v1::GetRegistryConfigRequest get;
      get.set_name(c->name());
      v1::RegistryConfig current;
      if (!cmd.Call(&Stub::GetRegistryConfig, get, &current)) return Outcome::Code(1);
      c->set_type(current.type());
      if (absl::Status s = ApplySettings(a, current.type(), c, &paths); !s.ok()) {
        return Outcome::Usage(std::string(s.message()));
      }
    }
    if (paths.empty()) return Outcome::Usage("nothing to update: give at least one setting flag");
    for (std::string& p : paths) req.mutable_update_mask()->add_paths(std::move(p));
    v1::RegistryConfig resp;
    if (!cmd.Call(&Stub::UpdateRegistryConfig, req, &resp)) return Outcome::Code(1);
    resp.clear_secret();
    cmd.json() ? cmd.PrintJson(resp) : PrintRegistry(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "delete") {
    if (auto e = Expect(a, 2, {"etag"})) return Outcome::Usage(e->message());
    v1::DeleteRegistryConfigRequest req;
    req.set_name(RegName(a));
    req.set_etag(a.Get("etag"));
    google::protobuf::Empty resp;
    if (!cmd.Call(&Stub::DeleteRegistryConfig, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : void(cmd.out() << "deleted " << req.name() << '\n');
    return Outcome::Code(0);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"registries ", verb, "\""));
}

// ---- members ----------------------------------------------------------------------------------

// Fetches one page, or with --all every page (stopping if the server repeats a token), merging
// `field` of each page into `all`.
template <typename Req, typename Resp, typename Field>
bool ListPages(Command& cmd, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
               Req req, Field* (Resp::*field)(), Resp* all) {
  std::set<std::string> seen_tokens;
  while (true) {
    Resp page;
    if (!cmd.Call(method, req, &page)) return false;
    (all->*field)()->MergeFrom(*(page.*field)());
    all->set_next_page_token(page.next_page_token());
    if (!cmd.args().Bool("all") || page.next_page_token().empty() ||
        !seen_tokens.insert(page.next_page_token()).second) {
      return true;
    }
    req.set_page_token(page.next_page_token());
  }
}

void PrintNextPage(Command& cmd, const std::string& token) {
  if (!token.empty()) cmd.out() << "next page: --page-token=" << token << '\n';
}

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

absl::StatusOr<v1::Member::Role> ParseRole(const std::string& s) {
  v1::Member::Role role;
  if (!v1::Member::Role_Parse(absl::AsciiStrToUpper(s), &role) ||
      role == v1::Member::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError("--role must be owner, admin or member");
  }
  return role;
}

absl::StatusOr<v1::Member::Status> ParseMemberStatus(const std::string& s) {
  v1::Member::Status status;
  if (!v1::Member::Status_Parse(absl::AsciiStrToUpper(s), &status) ||
      status == v1::Member::STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError("--status must be active, invited or removed");
  }
  return status;
}

void PrintMember(std::ostream& out, const v1::Member& m) {
  PrintKv(out, {{"name", m.name()},
                {"role", Lower(v1::Member::Role_Name(m.role()))},
                {"status", Lower(v1::Member::Status_Name(m.status()))},
                {"create_time", m.has_create_time() ? Ts(m.create_time()) : ""},
                {"update_time", m.has_update_time() ? Ts(m.update_time()) : ""},
                {"etag", m.etag()}});
}

Outcome Members(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  auto member_name = [&] {
    return absl::StrCat(WsName(a.positional[2]), "/members/", a.positional[3]);
  };
  auto print = [&](const v1::Member& m) {
    cmd.json() ? cmd.PrintJson(m) : PrintMember(cmd.out(), m);
    return Outcome::Code(0);
  };
  if (verb == "create") {
    if (auto e = Expect(a, 2, {"role", "status"})) return Outcome::Usage(e->message());
    if (!a.Has("role")) return Outcome::Usage("members create needs --role");
    v1::CreateMemberRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_member_id(a.positional[3]);
    absl::StatusOr<v1::Member::Role> role = ParseRole(a.Get("role"));
    if (!role.ok()) return Outcome::Usage(std::string(role.status().message()));
    req.mutable_member()->set_role(*role);
    if (a.Has("status")) {
      absl::StatusOr<v1::Member::Status> st = ParseMemberStatus(a.Get("status"));
      if (!st.ok()) return Outcome::Usage(std::string(st.status().message()));
      req.mutable_member()->set_status(*st);
    }
    v1::Member resp;
    if (!cmd.Call(&Stub::CreateMember, req, &resp)) return Outcome::Code(1);
    return print(resp);
  }
  if (verb == "get") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::GetMemberRequest req;
    req.set_name(member_name());
    v1::Member resp;
    if (!cmd.Call(&Stub::GetMember, req, &resp)) return Outcome::Code(1);
    return print(resp);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 1, {"page-size", "page-token", "all"})) {
      return Outcome::Usage(e->message());
    }
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListMembersRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_page_size(*size);
    req.set_page_token(a.Get("page-token"));
    v1::ListMembersResponse all;
    if (!ListPages(cmd, &Stub::ListMembers, req, &v1::ListMembersResponse::mutable_members, &all)) {
      return Outcome::Code(1);
    }
    if (cmd.json()) {
      cmd.PrintJson(all);
      return Outcome::Code(0);
    }
    std::vector<std::vector<std::string>> rows = {{"USER", "ROLE", "STATUS", "UPDATED"}};
    for (const auto& m : all.members()) {
      rows.push_back({LastSegment(m.name()), Lower(v1::Member::Role_Name(m.role())),
                      Lower(v1::Member::Status_Name(m.status())),
                      m.has_update_time() ? Ts(m.update_time()) : ""});
    }
    PrintTable(cmd.out(), rows);
    PrintNextPage(cmd, all.next_page_token());
    return Outcome::Code(0);
  }
  if (verb == "update") {
    if (auto e = Expect(a, 2, {"role", "status", "etag"})) return Outcome::Usage(e->message());
    v1::UpdateMemberRequest req;
    req.mutable_member()->set_name(member_name());
    req.mutable_member()->set_etag(a.Get("etag"));
    if (a.Has("role")) {
      absl::StatusOr<v1::Member::Role> role = ParseRole(a.Get("role"));
      if (!role.ok()) return Outcome::Usage(std::string(role.status().message()));
      req.mutable_member()->set_role(*role);
      req.mutable_update_mask()->add_paths("role");
    }
    if (a.Has("status")) {
      absl::StatusOr<v1::Member::Status> st = ParseMemberStatus(a.Get("status"));
      if (!st.ok()) return Outcome::Usage(std::string(st.status().message()));
      req.mutable_member()->set_status(*st);
      req.mutable_update_mask()->add_paths("status");
    }
    if (req.update_mask().paths().empty()) {
      return Outcome::Usage("nothing to update: give --role and/or --status");
    }
    v1::Member resp;
    if (!cmd.Call(&Stub::UpdateMember, req, &resp)) return Outcome::Code(1);
    return print(resp);
  }
  if (verb == "delete") {
    if (auto e = Expect(a, 2, {"etag"})) return Outcome::Usage(e->message());
    v1::DeleteMemberRequest req;
    req.set_name(member_name());
    req.set_etag(a.Get("etag"));
    google::protobuf::Empty resp;
    if (!cmd.Call(&Stub::DeleteMember, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : void(cmd.out() << "deleted " << req.name() << '\n');
    return Outcome::Code(0);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"members ", verb, "\""));
}

// ---- audit ------------------------------------------------------------------------------------

absl::Status ParseTimeFlag(const Args& a, const std::string& flag,
                           google::protobuf::Timestamp* out) {
  if (!a.Has(flag)) return absl::OkStatus();
  if (!google::protobuf::util::TimeUtil::FromString(a.Get(flag), out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be an RFC 3339 time such as 2026-11-23T10:00:00Z"));
  }
  return absl::OkStatus();
}

// --since and --until into the request's start_time and end_time; a field whose flag is
// absent stays unset.
template <typename Request>
absl::Status SetTimeRange(const Args& a, Request* req) {
  if (a.Has("since")) {
    if (absl::Status s = ParseTimeFlag(a, "since", req->mutable_start_time()); !s.ok()) return s;
  }
  if (a.Has("until")) return ParseTimeFlag(a, "until", req->mutable_end_time());
  return absl::OkStatus();
}

Outcome Audit(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  if (verb != "list") return Outcome::Usage(absl::StrCat("unknown command \"audit ", verb, "\""));
  // Resource names contain '/', so `audit list` takes no positional ids.
  if (auto e = Expect(a, 0,
                      {"resource", "caller", "since", "until", "page-size", "page-token", "all"})) {
    return Outcome::Usage(e->message());
  }
  absl::StatusOr<int32_t> size = PageSize(a);
  if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
  v1::ListAuditEventsRequest req;
  req.set_resource(a.Get("resource"));
  req.set_caller(a.Get("caller"));
  req.set_page_size(*size);
  req.set_page_token(a.Get("page-token"));
  if (absl::Status s = SetTimeRange(a, &req); !s.ok()) {
    return Outcome::Usage(std::string(s.message()));
  }
  v1::ListAuditEventsResponse all;
  if (!ListPages(cmd, &Stub::ListAuditEvents, req,
                 &v1::ListAuditEventsResponse::mutable_audit_events, &all)) {
    return Outcome::Code(1);
  }
  if (cmd.json()) {
    cmd.PrintJson(all);
    return Outcome::Code(0);
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "CALLER", "ON BEHALF OF", "ACTION", "RESOURCE", "OUTCOME", "REQUEST ID"}};
  for (const auto& e : all.audit_events()) {
    rows.push_back({e.has_time() ? Ts(e.time()) : "", e.caller(), e.on_behalf_of(), e.action(),
                    e.resource(), e.outcome(), e.request_id()});
  }
  PrintTable(cmd.out(), rows);
  PrintNextPage(cmd, all.next_page_token());
  return Outcome::Code(0);
}

const char* PrincipalKindName(v1::PrincipalKind kind) {
  switch (kind) {
    case v1::PRINCIPAL_KIND_ANONYMOUS:
      return "anonymous";
    case v1::PRINCIPAL_KIND_SERVICE_ACCOUNT:
      return "service-account";
    case v1::PRINCIPAL_KIND_PULL_TOKEN:
      return "pull-token";
    case v1::PRINCIPAL_KIND_WORKSPACE_CREDENTIAL:
      return "workspace-credential";
    case v1::PRINCIPAL_KIND_UNKNOWN:
      return "unknown";
    default:
      return "";
  }
}

// `events list <workspace>`: ListRegistryEvents with its filters.
Outcome Events(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  if (verb != "list") return Outcome::Usage(absl::StrCat("unknown command \"events ", verb, "\""));
  if (auto e = Expect(a, 1,
                      {"repository", "tag", "digest", "action", "actor", "since", "until",
                       "page-size", "page-token", "all"})) {
    return Outcome::Usage(e->message());
  }
  absl::StatusOr<int32_t> size = PageSize(a);
  if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
  v1::ListRegistryEventsRequest req;
  req.set_parent(WsName(a.positional[2]));
  req.set_repository(a.Get("repository"));
  req.set_tag(a.Get("tag"));
  req.set_digest(a.Get("digest"));
  req.set_action(a.Get("action"));
  req.set_actor(a.Get("actor"));
  req.set_page_size(*size);
  req.set_page_token(a.Get("page-token"));
  if (absl::Status s = SetTimeRange(a, &req); !s.ok()) {
    return Outcome::Usage(std::string(s.message()));
  }
  v1::ListRegistryEventsResponse all;
  if (!ListPages(cmd, &Stub::ListRegistryEvents, req,
                 &v1::ListRegistryEventsResponse::mutable_registry_events, &all)) {
    return Outcome::Code(1);
  }
  if (cmd.json()) {
    cmd.PrintJson(all);
    return Outcome::Code(0);
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "ACTION", "REPOSITORY", "TAG", "DIGEST", "ACTOR", "KIND", "ADDRESS"}};
  for (const auto& e : all.registry_events()) {
    rows.push_back({e.has_event_time() ? Ts(e.event_time()) : "", e.action(), e.repository(),
                    e.tag(), e.digest(), e.actor().name(), PrincipalKindName(e.actor().kind()),
                    e.request_addr()});
  }
  PrintTable(cmd.out(), rows);
  PrintNextPage(cmd, all.next_page_token());
  return Outcome::Code(0);
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& s) {
  absl::Duration d;
  int seconds;
  if (absl::SimpleAtoi(s, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(s, &d)) {
    return absl::InvalidArgumentError("--timeout must be a duration such as 10s or 500ms");
  }
  if (d <= absl::ZeroDuration()) return absl::InvalidArgumentError("--timeout must be positive");
  return d;
}

// ---- service accounts and pull tokens (the token realm) ----------------------------------------

// "acme/*=pull,push;acme/api-*=pull" -> grants.
absl::Status ParseGrants(const std::string& text, v1::ServiceAccount* out) {
  out->clear_grants();
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0 || eq + 1 == part.size()) {
      return absl::InvalidArgumentError(
          "--grants: each grant is PATTERN=ACTIONS, e.g. \"acme/*=pull,push\"");
    }
    v1::RepositoryGrant* g = out->add_grants();
    g->set_repository(std::string(absl::StripAsciiWhitespace(part.substr(0, eq))));
    for (absl::string_view action : absl::StrSplit(part.substr(eq + 1), ',', absl::SkipEmpty())) {
      g->add_actions(std::string(absl::StripAsciiWhitespace(action)));
    }
  }
  return absl::OkStatus();
}

std::string FormatGrants(const v1::ServiceAccount& sa) {
  std::vector<std::string> parts;
  for (const auto& g : sa.grants()) {
    parts.push_back(absl::StrCat(g.repository(), "=", absl::StrJoin(g.actions(), ",")));
  }
  return absl::StrJoin(parts, ";");
}

void PrintServiceAccount(std::ostream& out, const v1::ServiceAccount& sa) {
  PrintKv(out,
          {{"name", sa.name()},
           {"uid", sa.uid()},
           {"username", sa.username()},
           {"display_name", sa.display_name()},
           {"grants", FormatGrants(sa)},
           {"disabled", sa.disabled() ? "true" : "false"},
           {"expire_time", sa.has_expire_time() ? Ts(sa.expire_time()) : "never"},
           {"secret_rotate_time", sa.has_secret_rotate_time() ? Ts(sa.secret_rotate_time()) : ""},
           {"last_used_time", sa.has_last_used_time() ? Ts(sa.last_used_time()) : "never"},
           {"etag", sa.etag()}});
}

Outcome ServiceAccounts(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  auto sa_name = [&] {
    return absl::StrCat(WsName(a.positional[2]), "/serviceAccounts/", a.positional[3]);
  };
  auto print = [&](const v1::ServiceAccount& sa) {
    cmd.json() ? cmd.PrintJson(sa) : PrintServiceAccount(cmd.out(), sa);
    return Outcome::Code(0);
  };
  // The only place a secret is printed: the answer to create / regenerate-secret.
  auto print_credentials = [&](const v1::ServiceAccountCredentials& c) {
    if (cmd.json()) {
      cmd.PrintJson(c);
    } else {
      PrintServiceAccount(cmd.out(), c.service_account());
      cmd.out() << "secret: " << c.secret() << "\n"
                << "(shown once: log in to the registry as " << c.username()
                << " with this secret)\n";
    }
    return Outcome::Code(0);
  };
  auto set_expire = [&](v1::ServiceAccount* sa) -> absl::Status {
    if (!a.Has("expire")) return absl::OkStatus();
    return ParseTimeFlag(a, "expire", sa->mutable_expire_time());
  };
  if (verb == "create") {
    if (auto e = Expect(a, 2, {"grants", "display-name", "expire"})) {
      return Outcome::Usage(e->message());
    }
    v1::CreateServiceAccountRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_service_account_id(a.positional[3]);
    v1::ServiceAccount* sa = req.mutable_service_account();
    sa->set_display_name(a.Get("display-name"));
    if (absl::Status st = ParseGrants(a.Get("grants"), sa); !st.ok()) {
      return Outcome::Usage(std::string(st.message()));
    }
    if (absl::Status st = set_expire(sa); !st.ok())
      return Outcome::Usage(std::string(st.message()));
    v1::ServiceAccountCredentials resp;
    if (!cmd.Call(&Stub::CreateServiceAccount, req, &resp)) return Outcome::Code(1);
    return print_credentials(resp);
  }
  if (verb == "get") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::GetServiceAccountRequest req;
    req.set_name(sa_name());
    v1::ServiceAccount resp;
    if (!cmd.Call(&Stub::GetServiceAccount, req, &resp)) return Outcome::Code(1);
    return print(resp);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 1, {"page-size", "page-token", "all"})) {
      return Outcome::Usage(e->message());
    }
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListServiceAccountsRequest req;
    req.set_parent(WsName(a.positional[2]));
    req.set_page_size(*size);
    req.set_page_token(a.Get("page-token"));
    v1::ListServiceAccountsResponse all;
    if (!ListPages(cmd, &Stub::ListServiceAccounts, req,
                   &v1::ListServiceAccountsResponse::mutable_service_accounts, &all)) {
      return Outcome::Code(1);
    }
    if (cmd.json()) {
      cmd.PrintJson(all);
      return Outcome::Code(0);
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "USERNAME", "GRANTS", "DISABLED", "LAST_USED"}};
    for (const auto& sa : all.service_accounts()) {
      rows.push_back({LastSegment(sa.name()), sa.username(), FormatGrants(sa),
                      sa.disabled() ? "true" : "false",
                      sa.has_last_used_time() ? Ts(sa.last_used_time()) : "never"});
    }
    PrintTable(cmd.out(), rows);
    PrintNextPage(cmd, all.next_page_token());
    return Outcome::Code(0);
  }
  if (verb == "update") {
    if (auto e = Expect(a, 2, {"grants", "display-name", "disabled", "expire", "etag"})) {
      return Outcome::Usage(e->message());
    }
    v1::UpdateServiceAccountRequest req;
    v1::ServiceAccount* sa = req.mutable_service_account();
    sa->set_name(sa_name());
    sa->set_etag(a.Get("etag"));
    if (a.Has("grants")) {
      if (absl::Status st = ParseGrants(a.Get("grants"), sa); !st.ok()) {
        return Outcome::Usage(std::string(st.message()));
      }
      req.mutable_update_mask()->add_paths("grants");
    }
    if (a.Has("display-name")) {
      sa->set_display_name(a.Get("display-name"));
      req.mutable_update_mask()->add_paths("display_name");
    }
    if (a.Has("disabled")) {
      const std::string v = Lower(a.Get("disabled"));
      if (v != "true" && v != "false") return Outcome::Usage("--disabled must be true or false");
      sa->set_disabled(v == "true");
      req.mutable_update_mask()->add_paths("disabled");
    }
    if (a.Has("expire")) {
      if (absl::Status st = set_expire(sa); !st.ok()) {
        return Outcome::Usage(std::string(st.message()));
      }
      req.mutable_update_mask()->add_paths("expire_time");
    }
    if (req.update_mask().paths().empty()) {
      return Outcome::Usage(
          "nothing to update: give --grants, --display-name, --disabled and/or --expire");
    }
    v1::ServiceAccount resp;
    if (!cmd.Call(&Stub::UpdateServiceAccount, req, &resp)) return Outcome::Code(1);
    return print(resp);
  }
  if (verb == "delete") {
    if (auto e = Expect(a, 2, {"etag"})) return Outcome::Usage(e->message());
    v1::DeleteServiceAccountRequest req;
    req.set_name(sa_name());
    req.set_etag(a.Get("etag"));
    google::protobuf::Empty resp;
    if (!cmd.Call(&Stub::DeleteServiceAccount, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : void(cmd.out() << "deleted " << req.name() << '\n');
    return Outcome::Code(0);
  }
  if (verb == "regenerate-secret") {
    if (auto e = Expect(a, 2, {"etag"})) return Outcome::Usage(e->message());
    v1::RegenerateServiceAccountSecretRequest req;
    req.set_name(sa_name());
    req.set_etag(a.Get("etag"));
    v1::ServiceAccountCredentials resp;
    if (!cmd.Call(&Stub::RegenerateServiceAccountSecret, req, &resp)) return Outcome::Code(1);
    return print_credentials(resp);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"service-accounts ", verb, "\""));
}

void PrintPullToken(std::ostream& out, const v1::PullToken& t) {
  PrintKv(out, {{"name", t.name()},
                {"app", t.app()},
                {"repository", t.repository()},
                {"created_by", t.created_by()},
                {"create_time", t.has_create_time() ? Ts(t.create_time()) : ""},
                {"expire_time", t.has_expire_time() ? Ts(t.expire_time()) : ""},
                {"revoke_time", t.has_revoke_time() ? Ts(t.revoke_time()) : ""}});
}

Outcome PullTokens(Command& cmd) {
  const Args& a = cmd.args();
  const std::string& verb = a.positional[1];
  if (verb == "mint") {
    if (auto e = Expect(a, 2, {"ttl"})) return Outcome::Usage(e->message());
    v1::MintPullTokenRequest req;
    req.set_app(absl::StrCat(WsName(a.positional[2]), "/apps/", a.positional[3]));
    if (a.Has("ttl")) {
      absl::Duration ttl;
      if (!absl::ParseDuration(a.Get("ttl"), &ttl) || ttl <= absl::ZeroDuration()) {
        return Outcome::Usage("--ttl must be a positive duration, e.g. 1h or 90m");
      }
      req.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    }
    v1::MintPullTokenResponse resp;
    if (!cmd.Call(&Stub::MintPullToken, req, &resp)) return Outcome::Code(1);
    if (cmd.json()) {
      cmd.PrintJson(resp);
    } else {
      PrintKv(cmd.out(), {{"name", resp.name()},
                          {"registry", resp.registry()},
                          {"username", resp.username()},
                          {"password", resp.password()},
                          {"expire_time", resp.has_expire_time() ? Ts(resp.expire_time()) : ""}});
      cmd.out() << "(the password is shown once)\n";
    }
    return Outcome::Code(0);
  }
  if (verb == "list") {
    if (auto e = Expect(a, 1, {"app", "page-size"})) return Outcome::Usage(e->message());
    absl::StatusOr<int32_t> size = PageSize(a);
    if (!size.ok()) return Outcome::Usage(std::string(size.status().message()));
    v1::ListPullTokensRequest req;
    req.set_parent(a.Has("app") ? absl::StrCat(WsName(a.positional[2]), "/apps/", a.Get("app"))
                                : WsName(a.positional[2]));
    req.set_page_size(*size);
    v1::ListPullTokensResponse resp;
    if (!cmd.Call(&Stub::ListPullTokens, req, &resp)) return Outcome::Code(1);
    if (cmd.json()) {
      cmd.PrintJson(resp);
      return Outcome::Code(0);
    }
    std::vector<std::vector<std::string>> rows = {
        {"TOKEN", "APP", "CREATED_BY", "EXPIRES", "REVOKED"}};
    for (const auto& t : resp.pull_tokens()) {
      rows.push_back({LastSegment(t.name()), LastSegment(t.app()), t.created_by(),
                      t.has_expire_time() ? Ts(t.expire_time()) : "",
                      t.has_revoke_time() ? Ts(t.revoke_time()) : ""});
    }
    PrintTable(cmd.out(), rows);
    return Outcome::Code(0);
  }
  if (verb == "revoke") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::RevokePullTokenRequest req;
    req.set_name(absl::StrCat(WsName(a.positional[2]), "/pullTokens/", a.positional[3]));
    v1::PullToken resp;
    if (!cmd.Call(&Stub::RevokePullToken, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp) : PrintPullToken(cmd.out(), resp);
    return Outcome::Code(0);
  }
  if (verb == "revoke-app") {
    if (auto e = Expect(a, 2, {})) return Outcome::Usage(e->message());
    v1::RevokePullTokensRequest req;
    req.set_app(absl::StrCat(WsName(a.positional[2]), "/apps/", a.positional[3]));
    v1::RevokePullTokensResponse resp;
    if (!cmd.Call(&Stub::RevokePullTokens, req, &resp)) return Outcome::Code(1);
    cmd.json() ? cmd.PrintJson(resp)
               : void(cmd.out() << "revoked " << resp.revoked_count() << " pull tokens of "
                                << req.app() << '\n');
    return Outcome::Code(0);
  }
  return Outcome::Usage(absl::StrCat("unknown command \"pull-tokens ", verb, "\""));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> DefaultChannelFactory(const ChannelSpec& spec) {
  if (spec.tls_ca_file.empty()) {
    if (!spec.tls_cert_file.empty()) {
      return absl::InvalidArgumentError("--tls-cert needs --tls-ca (the server's CA bundle)");
    }
    return grpc::CreateChannel(spec.addr, grpc::InsecureChannelCredentials());
  }
  if (spec.tls_cert_file.empty() != spec.tls_key_file.empty()) {
    return absl::InvalidArgumentError("give both --tls-cert and --tls-key, or neither");
  }
  auto read = [](const std::string& flag, const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read --", flag, " ", path));
    }
    if (text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " ", path, " is empty or missing"));
    }
    return text;
  };
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca = read("tls-ca", spec.tls_ca_file);
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *std::move(ca);
  if (!spec.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = read("tls-cert", spec.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = read("tls-key", spec.tls_key_file);
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(spec.addr, grpc::SslCredentials(options));
  WipeString(options.pem_private_key);
  return channel;
}

std::optional<std::string> EnvFromProcess(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

const char* UsageText() { return kUsage; }

int RunRegauthctl(const std::vector<std::string>& argv, const CliIo& io,
                  const ChannelFactory& channel_factory) {
  auto usage = [&io](absl::string_view message) {
    *io.err << "error: " << message << "\n\n" << kUsage;
    return 2;
  };
  absl::StatusOr<Args> args = ParseArgs(argv);
  if (!args.ok()) return usage(args.status().message());
  if (args->Bool("help") || (!args->positional.empty() && args->positional[0] == "help")) {
    *io.out << kUsage;
    return 0;
  }
  if (args->positional.empty()) return usage("no command given");
  const std::string resource = args->positional[0];
  if (resource != "workspaces" && resource != "apps" && resource != "registries" &&
      resource != "members" && resource != "audit" && resource != "service-accounts" &&
      resource != "pull-tokens" && resource != "events") {
    return usage(absl::StrCat("unknown command \"", resource, "\""));
  }
  if (args->positional.size() < 2) return usage(absl::StrCat("\"", resource, "\" needs a verb"));

  absl::Duration timeout = absl::Seconds(10);
  if (args->Has("timeout")) {
    absl::StatusOr<absl::Duration> t = ParseTimeout(args->Get("timeout"));
    if (!t.ok()) return usage(t.status().message());
    timeout = *t;
  }
  std::string addr = args->Get("addr");
  if (addr.empty()) addr = io.getenv("REGAUTH_ADDR").value_or("");
  if (addr.empty()) addr = "127.0.0.1:50051";
  const bool json = args->Bool("json");

  auto flag_or_env = [&](const char* flag, const char* env) {
    std::string v = args->Get(flag);
    return v.empty() ? io.getenv(env).value_or("") : v;
  };
  ChannelSpec spec{addr, flag_or_env("tls-ca", "REGAUTH_TLS_CA"),
                   flag_or_env("tls-cert", "REGAUTH_TLS_CERT"),
                   flag_or_env("tls-key", "REGAUTH_TLS_KEY")};

  CallMetadata metadata;
  if (args->Has("api-key-file")) {
    std::ifstream in(args->Get("api-key-file"), std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.empty()) {
      return usage(
          absl::StrCat("cannot read an API key from --api-key-file ", args->Get("api-key-file")));
    }
    metadata.api_key = SecretString(key);
    WipeString(key);
  } else if (std::optional<std::string> key = io.getenv("REGAUTH_API_KEY");
             key.has_value() && !key->empty()) {
    metadata.api_key = SecretString(*key);
    WipeString(*key);
  }
  metadata.user = args->Get("user");
  metadata.request_id = args->Get("request-id");

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = channel_factory(spec);
  if (!channel.ok() || *channel == nullptr) {
    *io.err << "error: cannot connect to " << addr
            << (channel.ok() ? "" : absl::StrCat(": ", channel.status().message())) << '\n';
    return 1;
  }
  Command cmd(io, *std::move(args), v1::RegistryAuthService::NewStub(*channel), json, timeout,
              std::move(metadata));
  Outcome outcome = resource == "workspaces"         ? Workspaces(cmd)
                    : resource == "apps"             ? Apps(cmd)
                    : resource == "members"          ? Members(cmd)
                    : resource == "audit"            ? Audit(cmd)
                    : resource == "events"           ? Events(cmd)
                    : resource == "service-accounts" ? ServiceAccounts(cmd)
                    : resource == "pull-tokens"      ? PullTokens(cmd)
                                                     : Registries(cmd);
  if (outcome.usage.has_value()) return usage(outcome.usage->message());
  return outcome.code;
}

}  // namespace registryauth::cli
