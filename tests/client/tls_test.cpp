// The outbound client over https, against the test server on plain OpenSSL,
// with a CA and server certificates made at test time.
#include "client/sync.hpp"
#include "client/test_pki.hpp"
#include "client/test_server.hpp"
#include "http/client/client.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

using namespace ls::http;
using namespace ls::http::test;

namespace {

class tls : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ca_ = new identity(make_ca("LinkStacked Test CA"));
    ca_file_ = new pem_file(ca_->cert.get());
  }
  static void TearDownTestSuite() {
    delete ca_file_;
    delete ca_;
  }

  /// A TLS test server presenting a certificate for `dns` and `ips`.
  static std::unique_ptr<test_server>
  server(const std::vector<std::string>& dns,
         const std::vector<std::string>& ips = {}) {
    auto id = issue_server(*ca_, dns, ips);
    SSL_CTX* ctx = server_context(id);
    auto srv = std::make_unique<test_server>(
        [](const received& r) {
          return reply::ok("secure " + r.target + " sni=" + r.sni);
        },
        ctx);
    SSL_CTX_free(ctx); // the server holds its own reference
    return srv;
  }

  static client_options trusting() {
    client_options o;
    o.extra_ca_file = ca_file_->path();
    return o;
  }

  static std::string port(const test_server& s) {
    return std::to_string(s.port());
  }

  static identity* ca_;
  static pem_file* ca_file_;
};

identity* tls::ca_ = nullptr;
pem_file* tls::ca_file_ = nullptr;

} // namespace

TEST_F(tls, trusted_by_extra_ca) {
  auto srv = server({"localhost"}, {"127.0.0.1"});
  client c(trusting());
  auto res =
      fetch(c, make_request("https://localhost:" + port(*srv) + "/hello?q=1"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "secure /hello?q=1 sni=localhost");
  auto got = srv->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header("host"), "localhost:" + port(*srv));
}

TEST_F(tls, ip_literal_is_verified_against_ip_san_without_sni) {
  auto srv = server({"localhost"}, {"127.0.0.1"});
  client c(trusting());
  auto res = fetch(c, make_request("https://127.0.0.1:" + port(*srv) + "/"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "secure / sni="); // no SNI for IP literals (RFC 6066)
}

TEST_F(tls, untrusted_without_extra_ca) {
  auto srv = server({"localhost"}, {"127.0.0.1"});
  client c; // system CAs only
  auto res = fetch(c, make_request("https://localhost:" + port(*srv) + "/"));
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 0u);
  EXPECT_EQ(res.error.rfind("tls: certificate verify failed", 0), 0u)
      << res.error;
  EXPECT_TRUE(srv->requests().empty());
}

TEST_F(tls, certificate_name_must_match_the_url_host) {
  auto srv = server({"other.test"});
  client c(trusting());
  auto res = fetch(c, make_request("https://localhost:" + port(*srv) + "/"));
  EXPECT_EQ(res.error.rfind("tls: certificate verify failed", 0), 0u)
      << res.error;
  EXPECT_NE(res.error.find("hostname mismatch"), std::string::npos)
      << res.error;
  // An IP literal must be in an IP SAN, not merely resolve to the server.
  res = fetch(c, make_request("https://127.0.0.1:" + port(*srv) + "/"));
  EXPECT_EQ(res.error.rfind("tls: certificate verify failed", 0), 0u)
      << res.error;
  EXPECT_TRUE(srv->requests().empty());
}

TEST_F(tls, connect_address_keeps_the_url_host_for_verification) {
  // The certificate is for localhost; the URL says other.test: connecting to
  // the right address does not make the wrong name acceptable.
  auto srv = server({"localhost"}, {"127.0.0.1"});
  client c(trusting());
  auto req = make_request("https://other.test:" + port(*srv) + "/");
  req.connect_address = "127.0.0.1";
  auto res = fetch(c, req);
  EXPECT_EQ(res.error.rfind("tls: certificate verify failed", 0), 0u)
      << res.error;
  EXPECT_TRUE(srv->requests().empty());
}

TEST_F(tls, connect_address_sends_sni_and_host_of_the_url) {
  auto srv = server({"other.test"});
  client c(trusting());
  auto req = make_request("https://other.test:" + port(*srv) + "/w");
  req.connect_address = "127.0.0.1";
  auto res = fetch(c, req);
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "secure /w sni=other.test");
  auto got = srv->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sni, "other.test");
  EXPECT_EQ(got[0].header("host"), "other.test:" + port(*srv));
}

TEST_F(tls, keep_alive_over_tls) {
  auto srv = server({"localhost"});
  client c(trusting());
  for (int i = 0; i < 3; ++i) {
    auto res = fetch(c, make_request("https://localhost:" + port(*srv) + "/"));
    ASSERT_TRUE(res.ok()) << res.error;
  }
  EXPECT_EQ(srv->accepted(), 1);
}

TEST_F(tls, reused_tls_connection_closed_before_answering_is_retried) {
  auto id = issue_server(*ca_, {"localhost"}, {});
  SSL_CTX* ctx = server_context(id);
  test_server srv(
      [](const received& r) {
        if (r.connection == 1 && r.index == 1) return reply::dropped();
        return reply::ok("ok");
      },
      ctx);
  SSL_CTX_free(ctx);
  client c(trusting());
  auto url = "https://localhost:" + port(srv) + "/";
  ASSERT_TRUE(fetch(c, make_request(url)).ok());
  auto res = fetch(c, make_request(url, "POST", "b"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(srv.accepted(), 2);
}

TEST_F(tls, handshake_timeout) {
  // A plain server: it waits for an HTTP request that never comes, as the
  // client waits for a ServerHello.
  test_server srv([](const received&) { return reply::ok("no"); });
  client c(trusting());
  auto req = make_request("https://127.0.0.1:" + port(srv) + "/");
  req.timeout = 200ms;
  EXPECT_EQ(fetch(c, req).error, "timeout");
}

TEST_F(tls, unreadable_extra_ca_file_throws) {
  client_options o;
  o.extra_ca_file = "/nonexistent/ca.pem";
  EXPECT_ANY_THROW(client c(o));
}
