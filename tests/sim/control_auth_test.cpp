// Who may use the control surface (/_sim/): the holder of the control token,
// never a web page.
#include "sim_fixture.hpp"

#include <stdexcept>

using namespace ls::mcsim;
using namespace ls::mcsim::test;

namespace {

// What the cross-site page of the report sent: a "simple" request, which a
// browser sends without asking the server first.
const std::string hijack =
    R"({"client_id":"sandbox-client","client_secret":"sandbox-secret",)"
    R"("redirect_uris":["https://attacker.example/steal"]})";

class control_auth_test : public sim_test {
protected:
  /// The sandbox app's redirect URIs, read with the token.
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

  /// A refusal in the shape of the simulator's other errors, with no CORS
  /// header that would let a page read it.
  static void expect_problem(const reply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("content-type"),
              "application/problem+json; charset=utf-8");
    EXPECT_EQ(r.num("/status"), status);
    EXPECT_NE(r.str("/detail"), "<none>");
    EXPECT_FALSE(r.raw.has("access-control-allow-origin"));
    EXPECT_FALSE(r.raw.has("access-control-allow-credentials"));
  }

  const std::vector<std::string> defaults = options{}.sandbox_redirect_uris;
};

TEST_F(control_auth_test, WithoutTheTokenNothingIsHeardOrChanged) {
  auto r = call("POST", "/_sim/apps", hijack);
  expect_problem(r, 401);
  EXPECT_EQ(r.header("www-authenticate"), R"(Bearer realm="mailchimp-sim")");
  // Reads and every other call need it too.
  expect_problem(call("GET", "/_sim/apps"), 401);
  expect_problem(call("POST", "/_sim/reset"), 401);
  expect_problem(call("POST", "/_sim/tokens", "{}"), 401);
  expect_problem(call("GET", "/_sim/users/sandbox-user/tokens"), 401);
  expect_problem(call("GET", "/_sim/nothing"), 401);
  expect_problem(call("GET", "/_sim"), 401);

  EXPECT_EQ(sandbox_uris(), defaults);
  EXPECT_EQ(ctl("GET", "/_sim/lists").size("/lists"), 2u);
  EXPECT_EQ(ctl("GET", "/_sim/users/sandbox-user/tokens").size("/tokens"), 0u);
}

TEST_F(control_auth_test, AWrongTokenIsRefused) {
  const auto& token = sim_->control_token();
  auto flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const std::vector<std::string> wrong_headers = {
      "Bearer " + flipped,
      "Bearer " + token.substr(0, token.size() - 1),
      "Bearer " + token + "0",
      "Bearer ",
      "Bearer",
      token,
      "Token " + token,
      "Basic " + token,
  };
  for (auto& value : wrong_headers) {
    auto r = call("POST", "/_sim/apps", hijack, {{"Authorization", value}});
    SCOPED_TRACE(value);
    expect_problem(r, 401);
  }
  // The token goes in Authorization, nowhere else.
  expect_problem(call("POST", "/_sim/apps", hijack,
                      {{"X-Sim-Token", sim_->control_token()}}),
                 401);
  expect_problem(
      call("POST", "/_sim/apps?token=" + sim_->control_token(), hijack), 401);
  EXPECT_EQ(sandbox_uris(), defaults);
}

TEST_F(control_auth_test, ACrossSiteTextPlainPostIsRefused) {
  // Exactly what a form or fetch() of another site can send without a
  // preflight.
  auto r = call("POST", "/_sim/apps", hijack,
                {{"Content-Type", "text/plain;charset=UTF-8"},
                 {"Origin", "https://attacker.example"}});
  expect_problem(r, 403);
  // A foreign origin is refused even with the token, and so is an opaque one
  // (sandboxed frames, file: pages) and a look-alike of the simulator's own.
  for (std::string origin :
       {std::string("https://attacker.example"), std::string("null"),
        "http://localhost:" + std::to_string(port_),
        "http://127.0.0.1:" + std::to_string(port_ + 1), base_ + ".evil"}) {
    SCOPED_TRACE(origin);
    header_list h = control_auth();
    h.emplace_back("Origin", origin);
    expect_problem(call("POST", "/_sim/apps", hijack, h), 403);
    expect_problem(call("GET", "/_sim/apps", {}, h), 403);
  }
  // A preflight gets no CORS grant.
  auto pre = call("OPTIONS", "/_sim/apps", {},
                  {{"Origin", "https://attacker.example"},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "authorization"}});
  EXPECT_GE(pre.status, 400);
  EXPECT_FALSE(pre.raw.has("access-control-allow-origin"));
  EXPECT_FALSE(pre.raw.has("access-control-allow-headers"));
  EXPECT_FALSE(pre.raw.has("access-control-allow-methods"));

  EXPECT_EQ(sandbox_uris(), defaults);
}

TEST_F(control_auth_test, BodiesMustBeJson) {
  for (std::string type :
       {"text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/jsonp", "text/json"}) {
    SCOPED_TRACE(type);
    header_list h = control_auth();
    h.emplace_back("Content-Type", type);
    expect_problem(call("POST", "/_sim/apps", hijack, h), 415);
  }
  // No content type at all.
  client c(port_);
  auto raw = "POST /_sim/apps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Connection: close\r\nAuthorization: Bearer " +
             sim_->control_token() +
             "\r\nContent-Length: " + std::to_string(hijack.size()) +
             "\r\n\r\n" + hijack;
  expect_problem(to_reply(c.roundtrip(raw)), 415);
  EXPECT_EQ(sandbox_uris(), defaults);
}

TEST_F(control_auth_test, TheTokenHolderIsHeard) {
  header_list h = control_auth();
  h.emplace_back("Content-Type", "Application/JSON; charset=utf-8");
  auto r = call("POST", "/_sim/apps",
                R"({"client_id":"sandbox-client","client_secret":"s2",)"
                R"("redirect_uris":["https://app.example.com/cb?from=sim"]})",
                h);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(r.raw.has("access-control-allow-origin"));
  EXPECT_EQ(sandbox_uris(),
            std::vector<std::string>{"https://app.example.com/cb?from=sim"});
  // Bodiless calls need no content type; the scheme's case does not matter.
  EXPECT_EQ(call("GET", "/_sim/apps", {},
                 {{"Authorization", "bearer " + sim_->control_token()}})
                .status,
            200);
  // The simulator's own origin is not a foreign one.
  header_list own = control_auth();
  own.emplace_back("Origin", base_);
  EXPECT_EQ(call("GET", "/_sim/config", {}, own).status, 200);
}

TEST_F(control_auth_test, TheTokenIsChosenOrRandom) {
  EXPECT_EQ(sim_->control_token().size(), 64u);
  auto first = sim_->control_token();
  start();
  EXPECT_NE(sim_->control_token(), first); // a new one per start
  options chosen;
  chosen.control_token = "chosen-control-token-0123";
  start(chosen);
  EXPECT_EQ(sim_->control_token(), "chosen-control-token-0123");
  EXPECT_EQ(call("GET", "/_sim/config", {},
                 {{"Authorization", "Bearer chosen-control-token-0123"}})
                .status,
            200);
  expect_problem(
      call("GET", "/_sim/config", {}, {{"Authorization", "Bearer " + first}}),
      401);
  for (std::string bad :
       {"short", "has a space in it 0123", "tab\tis-not-ok-0123"}) {
    options o;
    o.control_token = bad;
    EXPECT_THROW(simulator{o}, std::invalid_argument) << bad;
  }
}

} // namespace
