// What the OAuth host trusts and how its pages defend themselves: redirect URIs
// registered through the control surface are absolute http(s) URLs, and the
// approve page can neither be framed nor run injected content.
#include "sim_fixture.hpp"

#include <sodium.h>

using namespace ls::mcsim;
using namespace ls::mcsim::test;

namespace {

class oauth_guard_test : public sim_test {
protected:
  /// The sandbox app's redirect URIs.
  std::vector<std::string> sandbox_uris() {
    auto apps = ctl("GET", "/_sim/apps");
    EXPECT_EQ(apps.status, 200) << apps.body;
    std::vector<std::string> out;
    for (size_t i = 0; i < apps.size("/apps"); ++i) {
      auto at = "/apps/" + std::to_string(i);
      if (apps.str(at + "/client_id") != "sandbox-client") continue;
      for (size_t k = 0; k < apps.size(at + "/redirect_uris"); ++k)
        out.push_back(apps.str(at + "/redirect_uris/" + std::to_string(k)));
    }
    return out;
  }

  const std::vector<std::string> defaults = options{}.sandbox_redirect_uris;
};

TEST_F(oauth_guard_test, RedirectUrisMustBeAbsoluteHttpUrls) {
  for (std::string uri :
       {"javascript:alert(document.cookie)", "JavaScript://x/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>", "/dashboard/cb",
        "dashboard/cb", "//attacker.example/cb", "ftp://files.example/cb",
        "http://", "http:///cb", "https://user:pw@app.example/cb",
        "https://app.example/cb#frag", "https://app example/cb",
        "https://app.example:0/cb", "https://app.example:99999/cb",
        "https://app.example/\x01", "https://<script>/", ""}) {
    SCOPED_TRACE(uri);
    std::string body = R"({"client_id":"sandbox-client","client_secret":"x",)"
                       R"("redirect_uris":["http://ok.example/cb",")" +
                       uri + "\"]}";
    // Keep the control character as JSON allows it.
    if (auto at = body.find('\x01'); at != std::string::npos)
      body.replace(at, 1, "\\u0001");
    auto r = ctl("POST", "/_sim/apps", body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.header("content-type"),
              "application/problem+json; charset=utf-8");
    EXPECT_NE(r.str("/detail").find("redirect_uris[1] must be an absolute "
                                    "http or https URL"),
              std::string::npos)
        << r.str("/detail");
  }
  EXPECT_EQ(sandbox_uris(), defaults);
  // What a real app registers passes.
  auto ok = ctl("POST", "/_sim/apps",
                R"({"client_id":"app","client_secret":"x","redirect_uris":[)"
                R"("HTTPS://App.Example.com/cb?x=1","http://[::1]:8080/cb",)"
                R"("http://127.0.0.1:3000/dashboard/email-collection"]})");
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(oauth_guard_test, TheApprovePageCannotBeFramedAndRunsNothing) {
  auto target = "/oauth2/authorize?response_type=code&client_id=sandbox-"
                "client&redirect_uri=" +
                ls::form::percent_encode(defaults.front()) + "&state=s1";
  for (std::string method : {"GET", "HEAD"}) {
    SCOPED_TRACE(method);
    client c(port_);
    auto r = to_reply(c.roundtrip(raw_request(port_, method, target, {}, {}),
                                  method == "HEAD"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    auto csp = r.header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("base-uri 'none'"), std::string::npos) << csp;
    // The form posts to the page itself, which redirects to the app.
    EXPECT_NE(csp.find("form-action 'self' http://localhost:3000;"),
              std::string::npos)
        << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("script-src"), std::string::npos) << csp;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    if (method == "HEAD") continue;
    // The page's one style sheet is allowed by its hash.
    auto open = r.body.find("<style>") + 7;
    auto style = r.body.substr(open, r.body.find("</style>") - open);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest,
                       reinterpret_cast<const unsigned char*>(style.data()),
                       style.size());
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest,
                      sodium_base64_VARIANT_ORIGINAL);
    EXPECT_NE(csp.find("style-src 'sha256-" + std::string(b64) + "'"),
              std::string::npos)
        << csp;
    EXPECT_EQ(r.body.find("<script"), std::string::npos);
  }
  // Error pages and the redirect carry the same defences.
  auto bad = call("GET", "/oauth2/authorize?response_type=code&client_id=nobody"
                         "&redirect_uri=http://x.example/");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.header("x-frame-options"), "DENY");
  EXPECT_NE(
      bad.header("content-security-policy").find("frame-ancestors 'none'"),
      std::string::npos);
  auto back =
      call("POST", "/oauth2/authorize",
           "response_type=code&client_id=sandbox-client&redirect_uri=" +
               ls::form::percent_encode(defaults.front()) + "&decision=allow",
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(back.status, 302);
  EXPECT_EQ(back.header("x-frame-options"), "DENY");
  EXPECT_NE(
      back.header("content-security-policy").find("frame-ancestors 'none'"),
      std::string::npos);
}

} // namespace
