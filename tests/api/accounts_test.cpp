#include "fixture.hpp"

using namespace ls::test;

namespace {

class accounts : public service_fixture {};

std::string cookie_of(const reply& r) {
  auto c = r.header("set-cookie");
  return c.substr(0, c.find(';'));
}

} // namespace

TEST_F(accounts, signup_returns_the_account_and_a_token_shown_once) {
  auto r = call(
      "POST", "/api/v1/accounts",
      R"({"email":" Ana@Example.ORG ","password":"long enough","handle":"ana"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = r.json();
  EXPECT_EQ(str(j["account"]["email"]), "ana@example.org");
  EXPECT_EQ(str(j["account"]["handle"]), "ana");
  EXPECT_EQ(str(j["account"]["id"]).rfind("acc_", 0), 0u);
  auto token = str(j["api_token"]);
  EXPECT_GT(token.size(), 40u);
  auto me = as(token, "GET", "/api/v1/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(str(me.json()["account"]["handle"]), "ana");
  // The token is never shown again.
  EXPECT_EQ(me.body.find(token), std::string::npos);
}

TEST_F(accounts, signup_refuses_bad_input_with_field_errors) {
  struct bad {
    std::string body;
    int status;
    std::string field;
  };
  std::vector<bad> cases = {
      {R"({"email":"x","password":"long enough","handle":"ok"})", 422, "email"},
      {R"({"email":"a@b.co","password":"short","handle":"ok"})", 422,
       "password"},
      {R"({"email":"a@b.co","password":"long enough","handle":"A"})", 422,
       "handle"},
      {R"({"email":"a@b.co","password":"long enough","handle":"no spaces"})",
       422, "handle"},
      {R"({"email":"a@b.co","password":"long enough","handle":"ok","admin":true})",
       422, "admin"},
      {R"({"email":1,"password":"long enough","handle":"ok"})", 422, "email"},
      {R"({"email":"a@b.co","password":["x"],"handle":"ok"})", 422, "password"},
      {R"({"email":"a@b.co","handle":"ok"})", 422, "password"},
      {R"({"email":"a@b.co","password":"long enough","handle":"<script>"})",
       422, "handle"},
  };
  for (auto& c : cases) {
    auto r = call("POST", "/api/v1/accounts", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    EXPECT_NE(r.body.find("\"field\":\"" + c.field + "\""), std::string::npos)
        << c.body << " -> " << r.body;
  }
  EXPECT_EQ(call("POST", "/api/v1/accounts", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/accounts", "[1,2]").status, 422);
  EXPECT_EQ(call("POST", "/api/v1/accounts", R"({"email":"a@b.co"})",
                 {{"content-type", "text/plain"}})
                .status,
            415);
  auto deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(call("POST", "/api/v1/accounts", deep).status, 400);
  auto huge = std::string(1024 * 1024 + 10, 'x');
  EXPECT_EQ(call("POST", "/api/v1/accounts", huge).status, 413);
}

TEST_F(accounts, email_and_handle_are_unique) {
  signup("taken");
  auto r1 = call(
      "POST", "/api/v1/accounts",
      R"({"email":"taken@example.org","password":"long enough","handle":"other"})");
  EXPECT_EQ(r1.status, 409);
  EXPECT_NE(r1.body.find("\"field\":\"email\""), std::string::npos);
  auto r2 = call(
      "POST", "/api/v1/accounts",
      R"({"email":"new@example.org","password":"long enough","handle":"taken"})");
  EXPECT_EQ(r2.status, 409);
  EXPECT_NE(r2.body.find("\"field\":\"handle\""), std::string::npos);
  // The refused signup left nothing behind: its email is still free.
  auto r3 = call(
      "POST", "/api/v1/accounts",
      R"({"email":"new@example.org","password":"long enough","handle":"fresh"})");
  EXPECT_EQ(r3.status, 201) << r3.body;
}

TEST_F(accounts, session_cookie_needs_csrf_for_writes) {
  auto a = signup("cookie");
  auto login =
      call("POST", "/api/v1/session",
           R"({"email":"cookie@example.org","password":"correct horse"})");
  ASSERT_EQ(login.status, 200) << login.body;
  auto set = login.header("set-cookie");
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(set.find("Path=/"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos); // public_url is http here
  auto csrf = str(login.json()["csrf_token"]);
  auto cookie = cookie_of(login);
  auto me = call("GET", "/api/v1/me", {}, {{"cookie", cookie}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(str(me.json()["csrf_token"]), csrf);
  auto body = R"({"name":"Spring"})";
  EXPECT_EQ(
      call("POST", "/api/v1/campaigns", body, {{"cookie", cookie}}).status,
      403);
  EXPECT_EQ(call("POST", "/api/v1/campaigns", body,
                 {{"cookie", cookie}, {"x-csrf-token", csrf + "x"}})
                .status,
            403);
  EXPECT_EQ(call("POST", "/api/v1/campaigns", body,
                 {{"cookie", cookie}, {"x-csrf-token", csrf}})
                .status,
            201);
  auto out = call("DELETE", "/api/v1/session", {},
                  {{"cookie", cookie}, {"x-csrf-token", csrf}});
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(call("GET", "/api/v1/me", {}, {{"cookie", cookie}}).status, 401);
}

TEST_F(accounts, wrong_credentials_are_refused_and_throttled) {
  signup("victim");
  EXPECT_EQ(call("POST", "/api/v1/session",
                 R"({"email":"nobody@example.org","password":"whatever1"})")
                .status,
            401);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(
        call("POST", "/api/v1/session",
             R"({"email":"victim@example.org","password":"wrong password"})")
            .status,
        401);
  auto locked =
      call("POST", "/api/v1/session",
           R"({"email":"victim@example.org","password":"correct horse"})");
  EXPECT_EQ(locked.status, 429);
  EXPECT_GT(std::stoi(locked.header("retry-after")), 0);
}

TEST_F(accounts, api_tokens_are_checked_and_rotate) {
  auto a = signup("rotor");
  EXPECT_EQ(call("GET", "/api/v1/me").status, 401);
  EXPECT_EQ(as("lst_bogus", "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(
      call("GET", "/api/v1/me", {}, {{"authorization", "Basic abc"}}).status,
      401);
  auto r = as(a.token, "POST", "/api/v1/me/api-token");
  ASSERT_EQ(r.status, 200);
  auto fresh = str(r.json()["api_token"]);
  EXPECT_NE(fresh, a.token);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(as(fresh, "GET", "/api/v1/me").status, 200);
}

TEST_F(accounts, unknown_routes_and_methods_are_problems) {
  auto r = call("GET", "/api/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  auto m = call("PATCH", "/api/v1/campaigns");
  EXPECT_EQ(m.status, 405);
  EXPECT_NE(m.header("allow").find("GET"), std::string::npos);
}

// Handles that would pass for our own pages, and handles without a letter or
// a digit, cannot be registered.
TEST_F(accounts, reserved_handles_are_refused) {
  for (std::string h : {"admin", "api", "dashboard", "metrics", "healthz", "--",
                        "_-", "p", "www"}) {
    auto r =
        call("POST", "/api/v1/accounts",
             R"({"email":")" + (h == "--" ? std::string{"dash"} : h) +
                 R"(x@example.org","password":"correct horse","handle":")" + h +
                 "\"}");
    EXPECT_EQ(r.status, 422) << h << ": " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"handle\""), std::string::npos)
        << h << ": " << r.body;
  }
  auto ok = call(
      "POST", "/api/v1/accounts",
      R"({"email":"admin2@example.org","password":"correct horse","handle":"admin2"})");
  EXPECT_EQ(ok.status, 201) << ok.body;
}
