#include "tests/support/test_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace registryauth::testing {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr Cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

PkeyPtr Key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

// Verifies `leaf` against `ca` for the given purpose (X509_PURPOSE_SSL_SERVER / _CLIENT);
// returns the X509_V_ERR_* code (X509_V_OK on success).
int Verify(const CertKey& ca, const CertKey& leaf, int purpose) {
  X509Ptr root = Cert(ca.cert_pem);
  X509Ptr cert = Cert(leaf.cert_pem);
  if (root == nullptr || cert == nullptr) return -1;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  const int error = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return error;
}

std::vector<std::string> Uris(const X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<std::size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string CommonName(const X509* cert) {
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

TEST(TestPkiTest, CaIsASelfSignedCa) {
  absl::StatusOr<TestPki> pki = TestPki::Create("my CA");
  ASSERT_TRUE(pki.ok()) << pki.status();
  X509Ptr ca = Cert(pki->ca().cert_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(CommonName(ca.get()), "my CA");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);
  PkeyPtr key = Key(pki->ca().key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(ca.get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_NE(pki->ca().key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
}

TEST(TestPkiTest, ServerCertificate) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<CertKey> server = pki->IssueServer();
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(Verify(pki->ca(), *server, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_NE(Verify(pki->ca(), *server, X509_PURPOSE_SSL_CLIENT), X509_V_OK);  // EKU serverAuth
  X509Ptr cert = Cert(server->cert_pem);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(cert.get(), "example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  PkeyPtr key = Key(server->key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST(TestPkiTest, ClientCertificates) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<CertKey> spiffe =
      pki->IssueClient("build-worker", "spiffe://example.org/build-worker");
  absl::StatusOr<CertKey> cn_only = pki->IssueClient("deployer");
  ASSERT_TRUE(spiffe.ok() && cn_only.ok());
  EXPECT_EQ(Verify(pki->ca(), *spiffe, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(Verify(pki->ca(), *cn_only, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(Verify(pki->ca(), *spiffe, X509_PURPOSE_SSL_SERVER), X509_V_OK);  // EKU clientAuth

  X509Ptr a = Cert(spiffe->cert_pem);
  EXPECT_EQ(CommonName(a.get()), "build-worker");
  EXPECT_EQ(Uris(a.get()), std::vector<std::string>{"spiffe://example.org/build-worker"});
  X509Ptr b = Cert(cn_only->cert_pem);
  EXPECT_EQ(CommonName(b.get()), "deployer");
  EXPECT_TRUE(Uris(b.get()).empty());
  // Fresh key per certificate.
  EXPECT_NE(spiffe->key_pem, cn_only->key_pem);
}

TEST(TestPkiTest, AnotherPkiIsNotTrusted) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  absl::StatusOr<TestPki> other = TestPki::Create("other CA");
  ASSERT_TRUE(pki.ok() && other.ok());
  absl::StatusOr<CertKey> stranger = other->IssueClient("build-worker");
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(Verify(other->ca(), *stranger, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(Verify(pki->ca(), *stranger, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST(TestPkiTest, GeneralSpec) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok());
  CertSpec spec;
  spec.uris = {"spiffe://example.org/a", "https://example.org/b,c", "spiffe://example.org/d"};
  spec.ip_addresses = {"::1"};
  spec.client_auth = true;
  spec.server_auth = true;
  absl::StatusOr<CertKey> cert = pki->Issue(spec);
  ASSERT_TRUE(cert.ok()) << cert.status();
  X509Ptr x = Cert(cert->cert_pem);
  EXPECT_EQ(Uris(x.get()), spec.uris);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(x.get())), 0);
  // Empty subject: the SAN extension is critical.
  const int index = X509_get_ext_by_NID(x.get(), NID_subject_alt_name, -1);
  ASSERT_GE(index, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(x.get(), index)), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "::1", 0), 1);
  EXPECT_EQ(Verify(pki->ca(), *cert, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(Verify(pki->ca(), *cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);

  spec.common_names = {"one", "two"};
  cert = pki->Issue(spec);
  ASSERT_TRUE(cert.ok()) << cert.status();
  x = Cert(cert->cert_pem);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(x.get())), 2);
}

TEST(TestPkiTest, BadIpAddress) {
  absl::StatusOr<TestPki> pki = TestPki::Create();
  ASSERT_TRUE(pki.ok());
  absl::StatusOr<CertKey> cert = pki->IssueServer("localhost", "not-an-ip");
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace registryauth::testing
