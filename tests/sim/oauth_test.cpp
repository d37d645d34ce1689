// The simulator's OAuth host: authorize page and decision, token exchange,
// metadata.
#include "sim_fixture.hpp"

using namespace ls::mcsim;
using namespace ls::mcsim::test;

namespace {

const std::string redirect = "http://localhost:3000/dashboard/email-collection";

std::string enc(std::string_view s) {
  return ls::form::percent_encode(s);
}

std::string authorize_query(const std::string& client_id,
                            const std::string& redirect_uri,
                            const std::string& state) {
  return "response_type=code&client_id=" + enc(client_id) +
         "&redirect_uri=" + enc(redirect_uri) + "&state=" + enc(state);
}

const ls::mcsim::test::header_list form_type = {
    {"Content-Type", "application/x-www-form-urlencoded"}};

class oauth_test : public sim_test {
protected:
  /// Submits the approve form; returns the response (302 expected).
  reply decide(const std::string& decision, const std::string& state = "st-1",
               const std::string& login = {},
               const std::string& redirect_uri = redirect,
               const std::string& client_id = "sandbox-client") {
    auto body = authorize_query(client_id, redirect_uri, state) +
                "&decision=" + decision;
    if (!login.empty()) body += "&login=" + enc(login);
    return call("POST", "/oauth2/authorize", body, form_type);
  }

  /// The value of `key` in the Location's query.
  static std::string location_param(const reply& r, const std::string& key) {
    auto loc = r.header("location");
    auto q = loc.find('?');
    if (q == std::string::npos) return "<none>";
    auto pairs = ls::form::parse(loc.substr(q + 1));
    if (!pairs) return "<bad>";
    return ls::form::first(*pairs, key).value_or("<none>");
  }

  std::string approve(const std::string& login = {}) {
    auto r = decide("allow", "st-1", login);
    EXPECT_EQ(r.status, 302);
    return location_param(r, "code");
  }

  reply exchange(const std::string& code,
                 const std::string& secret = "sandbox-secret",
                 const std::string& redirect_uri = redirect) {
    auto body = "grant_type=authorization_code&client_id=sandbox-client"
                "&client_secret=" +
                enc(secret) + "&redirect_uri=" + enc(redirect_uri) +
                "&code=" + enc(code);
    return call("POST", "/oauth2/token", body, form_type);
  }
};

TEST_F(oauth_test, AuthorizePageIsARealForm) {
  auto r = call("GET", "/oauth2/authorize?" +
                           authorize_query("sandbox-client", redirect, "abc"));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/html"), std::string::npos);
  for (auto s :
       {"<form method=\"post\" action=\"/oauth2/authorize\">",
        "name=\"response_type\" value=\"code\"",
        "name=\"client_id\" value=\"sandbox-client\"",
        "name=\"redirect_uri\" "
        "value=\"http://localhost:3000/dashboard/email-collection\"",
        "name=\"state\" value=\"abc\"", "<select name=\"login\">",
        "<option value=\"sandbox-user\"", "name=\"decision\" value=\"allow\"",
        "name=\"decision\" value=\"deny\""})
    EXPECT_NE(r.body.find(s), std::string::npos) << s;
}

TEST_F(oauth_test, StateIsEscapedInThePage) {
  auto r = call("GET", "/oauth2/authorize?" +
                           authorize_query("sandbox-client", redirect,
                                           "\"><script>x</script>"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("<script>x"), std::string::npos);
  EXPECT_NE(r.body.find("&quot;&gt;&lt;script&gt;"), std::string::npos);
}

TEST_F(oauth_test, ApproveThenTokenThenMetadata) {
  auto r = decide("allow", "state with spaces&more");
  ASSERT_EQ(r.status, 302);
  auto loc = r.header("location");
  EXPECT_EQ(loc.rfind(redirect + "?code=", 0), 0u) << loc;
  EXPECT_EQ(location_param(r, "state"), "state with spaces&more");
  auto code = location_param(r, "code");
  ASSERT_FALSE(code.empty());

  auto t = exchange(code);
  ASSERT_EQ(t.status, 200) << t.body;
  auto token = t.str("/access_token");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(t.num("/expires_in"), 0);
  EXPECT_TRUE(t.j().is_null("/scope"));

  auto m = call("GET", "/oauth2/metadata", {},
                {{"Authorization", "OAuth " + token}});
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.str("/dc"), "us19");
  EXPECT_EQ(m.str("/role"), "owner");
  EXPECT_EQ(m.str("/accountname"), "Sandbox Creator");
  EXPECT_EQ(m.str("/login/login_email"), "creator@sandbox.example");
  EXPECT_EQ(m.str("/login/email"), "creator@sandbox.example");
  EXPECT_EQ(m.str("/login/login_name"), "sandbox-user");
  EXPECT_EQ(m.str("/api_endpoint"), base_);
  EXPECT_EQ(m.str("/login_url"), base_);
  EXPECT_GT(m.num("/user_id"), 0);

  // The token works on the API.
  auto p = api("GET", "/3.0/ping", token);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.str("/health_status"), "Everything's Chimpy!");
}

TEST_F(oauth_test, DenyRedirectsWithAccessDenied) {
  auto r = decide("deny", "s2");
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(r.header("location"), redirect + "?error=access_denied&state=s2");
  EXPECT_EQ(location_param(r, "code"), "<none>");
}

TEST_F(oauth_test, UnregisteredRedirectUriNeverRedirects) {
  for (auto uri : {redirect + "?x=1", redirect + "/",
                   std::string("http://evil.example/cb"),
                   std::string("http://localhost:3001/dashboard/"
                               "email-collection")}) {
    auto g = call("GET", "/oauth2/authorize?" +
                             authorize_query("sandbox-client", uri, "s"));
    EXPECT_EQ(g.status, 400) << uri;
    EXPECT_FALSE(g.raw.has("location"));
    EXPECT_NE(g.header("content-type").find("text/html"), std::string::npos);
    auto p = decide("allow", "s", {}, uri);
    EXPECT_EQ(p.status, 400) << uri;
    EXPECT_FALSE(p.raw.has("location"));
  }
  auto unknown = call("GET", "/oauth2/authorize?" +
                                 authorize_query("nobody", redirect, "s"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_FALSE(unknown.raw.has("location"));
  auto missing = call("GET", "/oauth2/authorize");
  EXPECT_EQ(missing.status, 400);
}

TEST_F(oauth_test, CodeIsSingleUse) {
  auto code = approve();
  EXPECT_EQ(exchange(code).status, 200);
  auto again = exchange(code);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.str("/error"), "invalid_grant");
  EXPECT_NE(again.str("/error_description"), "<none>");
}

TEST_F(oauth_test, UnknownCodeIsInvalidGrant) {
  auto r = exchange("not-a-code");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/error"), "invalid_grant");
}

TEST_F(oauth_test, ExpiredCodeIsInvalidGrant) {
  options o;
  o.code_lifetime = std::chrono::milliseconds(0);
  start(o);
  auto code = approve();
  auto r = exchange(code);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/error"), "invalid_grant");
  EXPECT_NE(r.str("/error_description").find("expired"), std::string::npos);
}

TEST_F(oauth_test, WrongSecretIsInvalidClient) {
  auto code = approve();
  auto r = exchange(code, "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.str("/error"), "invalid_client");
  auto unknown_client = call("POST", "/oauth2/token",
                             "grant_type=authorization_code&client_id=x"
                             "&client_secret=y&code=z&redirect_uri=" +
                                 enc(redirect),
                             form_type);
  EXPECT_EQ(unknown_client.status, 401);
  EXPECT_EQ(unknown_client.str("/error"), "invalid_client");
}

TEST_F(oauth_test, TokenNeedsTheSameRedirectUri) {
  auto code = approve();
  auto r = exchange(code, "sandbox-secret",
                    "http://127.0.0.1:3000/dashboard/email-collection");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/error"), "invalid_grant");
}

TEST_F(oauth_test, TokenChecksGrantType) {
  auto r = call("POST", "/oauth2/token",
                "grant_type=refresh_token&client_id=sandbox-client"
                "&client_secret=sandbox-secret",
                form_type);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/error"), "unsupported_grant_type");
  EXPECT_EQ(call("GET", "/oauth2/token").status, 405);
}

TEST_F(oauth_test, LoginFieldPicksTheUser) {
  auto u = ctl("POST", "/_sim/users",
               R"({"login":"second","dc":"us7","account_name":"Second Co"})");
  ASSERT_EQ(u.status, 201) << u.body;
  EXPECT_EQ(u.str("/login"), "second");
  EXPECT_EQ(u.str("/dc"), "us7");
  auto code = approve("second");
  auto t = exchange(code);
  ASSERT_EQ(t.status, 200);
  auto m = call("GET", "/oauth2/metadata", {},
                {{"Authorization", "OAuth " + t.str("/access_token")}});
  EXPECT_EQ(m.str("/dc"), "us7");
  EXPECT_EQ(m.str("/accountname"), "Second Co");
  EXPECT_EQ(m.num("/user_id"), u.num("/user_id"));

  auto unknown = decide("allow", "s", "nobody");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_FALSE(unknown.raw.has("location"));
}

TEST_F(oauth_test, MetadataNeedsAValidToken) {
  EXPECT_EQ(call("GET", "/oauth2/metadata").status, 401);
  EXPECT_EQ(
      call("GET", "/oauth2/metadata", {}, {{"Authorization", "OAuth nope"}})
          .status,
      401);
  auto token = token_for();
  ctl("POST", "/_sim/users/sandbox-user/revoke-tokens");
  EXPECT_EQ(
      call("GET", "/oauth2/metadata", {}, {{"Authorization", "OAuth " + token}})
          .status,
      401);
}

TEST_F(oauth_test, AppsRegisteredThroughTheControlSurface) {
  auto a = ctl(
      "POST", "/_sim/apps",
      R"({"client_id":"app2","client_secret":"s2","redirect_uris":["http://127.0.0.1:9/cb"]})");
  ASSERT_EQ(a.status, 201) << a.body;
  auto r = decide("allow", "x", {}, "http://127.0.0.1:9/cb", "app2");
  ASSERT_EQ(r.status, 302);
  auto code = location_param(r, "code");
  auto t = call("POST", "/oauth2/token",
                "grant_type=authorization_code&client_id=app2&client_secret="
                "s2&redirect_uri=" +
                    enc("http://127.0.0.1:9/cb") + "&code=" + code,
                form_type);
  EXPECT_EQ(t.status, 200) << t.body;
}

TEST_F(oauth_test, PersistentTokensSurviveARestartWithTheSameKey) {
  options o;
  o.token_key = "k1";
  start(o);
  auto token = token_for();
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  start(o); // a new simulator: it never saw the token
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  ctl("POST", "/_sim/users/sandbox-user/revoke-tokens");
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 401);
  o.token_key = "k2";
  start(o);
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 401);
}

} // namespace
