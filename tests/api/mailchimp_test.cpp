// Mailchimp connect against the in-process sandbox simulator: OAuth, audiences,
// disconnect, and every failure explained on the dashboard redirect.
#include "http/codec/form.hpp"
#include "mailchimp_fixture.hpp"
#include "process.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sys/stat.h>

using namespace ls::test;

TEST_F(mailchimp_connect, connect_pick_create_and_disconnect) {
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/integrations")
                    .json()["mailchimp"]["status"]),
            "disconnected");
  EXPECT_EQ(finish(approve()),
            "/dashboard/email-collection?mailchimp=connected");
  auto overview = as(a.token, "GET", "/api/v1/integrations");
  auto o = overview.json();
  EXPECT_EQ(str(o["mailchimp"]["status"]), "connected");
  EXPECT_EQ(str(o["mailchimp"]["dc"]), "us19");
  EXPECT_FALSE(str(o["mailchimp"]["account_name"]).empty());
  EXPECT_TRUE(o["mailchimp"]["audience"].is_null());

  auto lists = as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
  ASSERT_EQ(lists.status, 200) << lists.body;
  auto lj = lists.json();
  auto items = simdjson::dom::array(lj["items"]);
  ASSERT_EQ(items.size(), 2u);
  auto first_id = str(items.at(0)["id"]);

  auto created = as(a.token, "POST", "/api/v1/integrations/mailchimp/audiences",
                    R"({"name":"LinkStacked fans"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto new_id = str(created.json()["id"]);
  auto after_create =
      as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences").json();
  EXPECT_EQ(simdjson::dom::array(after_create["items"]).size(), 3u);

  auto chosen = as(a.token, "PUT", "/api/v1/integrations/mailchimp/audience",
                   R"({"audience_id":")" + new_id + "\"}");
  ASSERT_EQ(chosen.status, 200) << chosen.body;
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/integrations")
                    .json()["mailchimp"]["audience"]["id"]),
            new_id);
  EXPECT_EQ(as(a.token, "PUT", "/api/v1/integrations/mailchimp/audience",
               R"({"audience_id":"0000000000"})")
                .status,
            404);
  EXPECT_EQ(as(a.token, "PUT", "/api/v1/integrations/mailchimp/audience",
               R"({"audience_id":"../x"})")
                .status,
            422);

  // Disconnect deletes the token: the account is disconnected and cannot list
  // audiences.
  EXPECT_EQ(call("DELETE", "/api/v1/integrations/mailchimp", {},
                 {{"cookie", cookie}, {"x-csrf-token", csrf}})
                .status,
            204);
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/integrations")
                    .json()["mailchimp"]["status"]),
            "disconnected");
  EXPECT_EQ(
      as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences").status,
      409);
  (void)first_id;
}

TEST_F(mailchimp_connect, the_token_is_never_stored_in_plaintext) {
  finish(approve());
  auto tokens = sim("GET", "/_sim/users/sandbox-user/tokens");
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  std::vector<std::string> issued;
  auto tokens_json = tokens.json();
  for (auto t : simdjson::dom::array(tokens_json["tokens"]))
    issued.push_back(str(t));
  ASSERT_FALSE(issued.empty());
  auto read_data = [&] {
    std::ifstream f{dir + "/data/data.mdb", std::ios::binary};
    return std::string{std::istreambuf_iterator<char>{f}, {}};
  };
  auto before = read_data();
  for (auto& t : issued)
    EXPECT_EQ(before.find(t), std::string::npos) << "plaintext token in LMDB";
  ASSERT_EQ(as(a.token, "DELETE", "/api/v1/integrations/mailchimp").status,
            204);
  svc->stop();
  auto after = read_data();
  for (auto& t : issued)
    EXPECT_EQ(after.find(t), std::string::npos);
}

// A callback in another browser session is refused without using up the
// state: the real user's own callback still completes.
TEST_F(mailchimp_connect, a_wrong_session_does_not_use_up_the_state) {
  auto callback = approve();
  auto own_cookie = cookie;
  auto b = signup("intruder");
  login(b);
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=error&reason=wrong_session");
  // Even the same account in another session (another browser) is refused.
  login(a);
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=error&reason=wrong_session");
  cookie = own_cookie;
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=connected");
}

namespace {

class connect_limited : public mailchimp_connect {
  void adjust(ls::config::config& c) override {
    c.ratelimit.connect_per_account = 3;
  }
};

} // namespace

// "Connect" stores a state per call: it is rate-limited per account.
TEST_F(connect_limited, connect_is_rate_limited_per_account) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(
        call("GET", "/api/v1/integrations/mailchimp/connect", {}, browser())
            .status,
        302)
        << i;
  auto r = call("GET", "/api/v1/integrations/mailchimp/connect", {}, browser());
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_GE(std::stoi(r.header("retry-after")), 1);
  // Another account is not affected.
  auto b = signup("elsewhere");
  login(b);
  EXPECT_EQ(call("GET", "/api/v1/integrations/mailchimp/connect", {}, browser())
                .status,
            302);
}

TEST_F(mailchimp_connect, every_failure_is_explained_on_the_redirect) {
  // Consent denied.
  EXPECT_EQ(finish(approve("deny")),
            "/dashboard/email-collection?mailchimp=error&reason=access_denied");
  // A forged state.
  EXPECT_EQ(finish("/dashboard/email-collection?code=x&state=forged"),
            "/dashboard/email-collection?mailchimp=error&reason=invalid_state");
  // A replayed callback.
  auto callback = approve();
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=connected");
  EXPECT_EQ(
      finish(callback),
      "/dashboard/email-collection?mailchimp=error&reason=replayed_state");
  // Another account's browser cannot complete this account's flow.
  auto theirs = approve();
  auto b = signup("other");
  login(b);
  EXPECT_EQ(finish(theirs),
            "/dashboard/email-collection?mailchimp=error&reason=wrong_session");
  login(a);
  // The token exchange fails.
  ASSERT_EQ(sim("POST", "/_sim/faults",
                R"({"path_prefix":"/oauth2/token","status":500,"count":1})")
                .status,
            201);
  EXPECT_EQ(
      finish(approve()),
      "/dashboard/email-collection?mailchimp=error&reason=exchange_failed");
  // The metadata call fails.
  ASSERT_EQ(sim("POST", "/_sim/faults",
                R"({"path_prefix":"/oauth2/metadata","status":503,"count":1})")
                .status,
            201);
  EXPECT_EQ(
      finish(approve()),
      "/dashboard/email-collection?mailchimp=error&reason=metadata_failed");
  // The dashboard explains the reason in words.
  auto page = call(
      "GET",
      "/dashboard/email-collection?mailchimp=error&reason=exchange_failed");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("did not accept the authorization code"),
            std::string::npos);
  auto expired =
      call("GET",
           "/dashboard/email-collection?mailchimp=error&reason=expired_state");
  EXPECT_NE(expired.body.find("expired"), std::string::npos);
}

TEST_F(mailchimp_connect,
       a_revoked_token_turns_the_connection_to_needs_reconnect) {
  finish(approve());
  ASSERT_EQ(
      as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences").status,
      200);
  ASSERT_EQ(sim("POST", "/_sim/users/sandbox-user/revoke-tokens").status, 200);
  auto r = as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("connect Mailchimp again"), std::string::npos)
      << r.body;
  // The status change is written by the integrations actor: wait for it with a
  // deadline.
  EXPECT_TRUE(ls::http::test::wait_until([&] {
    return str(as(a.token, "GET", "/api/v1/integrations")
                   .json()["mailchimp"]["status"]) == "needs_reconnect";
  }));
  // Connecting again repairs it.
  EXPECT_EQ(finish(approve()),
            "/dashboard/email-collection?mailchimp=connected");
  EXPECT_EQ(
      as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences").status,
      200);
}

TEST_F(mailchimp_connect,
       an_unregistered_dashboard_url_names_the_url_to_register) {
  auto r = call("GET", "/api/v1/integrations/mailchimp/connect", {},
                {{"cookie", cookie}, {"host", "127.0.0.1:4000"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("http://127.0.0.1:4000/dashboard/email-collection"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("localhost and 127.0.0.1"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/integrations/mailchimp/connect").status, 401);
}

namespace {

class mailchimp_expiry : public mailchimp_connect {};

} // namespace

TEST_F(mailchimp_expiry, an_expired_state_is_refused) {
  // The states' clock is the test's, so expiry does not race the real one.
  auto now = std::make_shared<std::atomic<int64_t>>(1'800'000'000'000'000);
  svc.reset();
  ls::service_options opts;
  opts.oauth_clock = [now] { return now->load(); };
  svc = std::make_unique<ls::service>(cfg, nullptr, opts);
  port = svc->port();
  login(a);
  // Nine minutes later the state still works.
  auto callback = approve();
  *now += std::chrono::microseconds(std::chrono::minutes(9)).count();
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=connected");
  // Ten minutes and one microsecond later it does not.
  callback = approve();
  *now += std::chrono::microseconds(std::chrono::minutes(10)).count() + 1;
  EXPECT_EQ(finish(callback),
            "/dashboard/email-collection?mailchimp=error&reason=expired_state");
}

namespace {

/// The service in live mode against the standalone build/mailchimp-sim, seeded
/// through its control surface like a real Mailchimp account.
class standalone_simulator : public mailchimp_connect {
protected:
  void adjust(ls::config::config& c) override {
    sim_process = std::make_unique<child_process>(
        std::vector<std::string>{std::string{LS_BINARY_DIR} + "/mailchimp-sim",
                                 "--listen", "127.0.0.1:0", "--empty",
                                 "--control-token", test_sim_token},
        R"(listening on http://127\.0\.0\.1:(\d+))");
    ASSERT_NE(sim_process->port(), 0) << sim_process->log();
    auto p = sim_process->port();
    auto base = "http://127.0.0.1:" + std::to_string(p);
    ASSERT_EQ(
        send(
            p, "POST", "/_sim/apps",
            R"({"client_id":"live-app","client_secret":"live-secret-0123456789",
                       "redirect_uris":["http://localhost:3000/dashboard/email-collection"]})",
            sim_auth())
            .status,
        201);
    ASSERT_EQ(send(p, "POST", "/_sim/users",
                   R"({"login":"creator","dc":"us7"})", sim_auth())
                  .status,
              201);
    auto list = send(p, "POST", "/_sim/lists",
                     R"({"user":"creator","name":"Fans"})", sim_auth());
    ASSERT_EQ(list.status, 201);
    list_id = str(list.json()["id"]);
    c.mailchimp.mode = "live";
    c.mailchimp.client_id = client_id = "live-app";
    c.mailchimp.client_secret = "live-secret-0123456789";
    c.mailchimp.oauth_base_url = base;
    c.mailchimp.api_base_url = base + "/3.0";
  }
  std::unique_ptr<child_process> sim_process;
  std::string list_id;
};

} // namespace

TEST_F(standalone_simulator, connect_pick_and_disconnect) {
  EXPECT_EQ(finish(approve()),
            "/dashboard/email-collection?mailchimp=connected");
  auto overview = as(a.token, "GET", "/api/v1/integrations").json();
  EXPECT_EQ(str(overview["mailchimp"]["dc"]), "us7");
  auto lists = as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
  ASSERT_EQ(lists.status, 200) << lists.body;
  auto lj = lists.json();
  ASSERT_EQ(simdjson::dom::array(lj["items"]).size(), 1u);
  EXPECT_EQ(str(lj["items"].at(0)["id"]), list_id);
  EXPECT_EQ(as(a.token, "PUT", "/api/v1/integrations/mailchimp/audience",
               R"({"audience_id":")" + list_id + "\"}")
                .status,
            200);
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/integrations/mailchimp").status,
            204);
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/integrations")
                    .json()["mailchimp"]["status"]),
            "disconnected");
}

namespace {

/// The shipped config/linkstacked.toml (what scripts/run serves), with only its
/// ports and folders moved so tests can run side by side.
class shipped_defaults : public mailchimp_connect {
protected:
  void adjust(ls::config::config& c) override {
    ls::config::environment env{
        {"LINKSTACKED_SERVER_LISTEN", "127.0.0.1:0"},
        {"LINKSTACKED_MAILCHIMP_SANDBOX_LISTEN", "127.0.0.1:0"},
        {"LINKSTACKED_STORAGE_PATH", c.storage.path},
        {"LINKSTACKED_SECURITY_SECRET_KEY_FILE", c.security.secret_key_file},
        {"LINKSTACKED_LOG_LEVEL", "warn"}};
    c = ls::config::load(
        std::string{LS_SOURCE_DIR} + "/config/linkstacked.toml", env);
    EXPECT_EQ(c.mailchimp.mode, "sandbox");
  }
};

} // namespace

TEST_F(shipped_defaults, the_sandbox_connects_with_the_default_config) {
  EXPECT_EQ(finish(approve()),
            "/dashboard/email-collection?mailchimp=connected");
  auto lists = as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
  ASSERT_EQ(lists.status, 200) << lists.body;
  EXPECT_EQ(simdjson::dom::array(lists.json()["items"]).size(), 2u);
}

TEST_F(shipped_defaults, the_sandbox_control_token_is_random_and_private) {
  const auto path = cfg.storage.path + "/sandbox-control-token";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto token = sim_token();
  EXPECT_EQ(token.size(), 64u);
  auto sim_port = split(svc->sandbox_url()).port;
  EXPECT_EQ(sim("GET", "/_sim/config").status, 200);
  EXPECT_EQ(send(sim_port, "GET", "/_sim/config").status, 401);
  // A new one at each start.
  restart();
  EXPECT_NE(sim_token(), token);
  EXPECT_EQ(sim("GET", "/_sim/config").status, 200);
  EXPECT_EQ(send(split(svc->sandbox_url()).port, "GET", "/_sim/config", {},
                 sim_auth(token))
                .status,
            401);
}

TEST_F(mailchimp_connect, a_configured_sandbox_control_token_is_not_written) {
  EXPECT_FALSE(
      std::filesystem::exists(cfg.storage.path + "/sandbox-control-token"));
  auto sim_port = split(svc->sandbox_url()).port;
  EXPECT_EQ(send(sim_port, "GET", "/_sim/config", {}, sim_auth()).status, 200);
  EXPECT_EQ(send(sim_port, "GET", "/_sim/config", {},
                 sim_auth("another-token-0123456789"))
                .status,
            401);
}

TEST(standalone_sim_token, made_and_printed_when_none_is_given) {
  child_process sim{{std::string{LS_BINARY_DIR} + "/mailchimp-sim", "--listen",
                     "127.0.0.1:0", "--empty"},
                    R"(listening on http://127\.0\.0\.1:(\d+))"};
  ASSERT_NE(sim.port(), 0) << sim.log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sim.log(), m,
                                std::regex{"control token: ([0-9a-f]{64})\n"}))
      << sim.log();
  EXPECT_EQ(
      send(sim.port(), "GET", "/_sim/config", {}, sim_auth(m[1].str())).status,
      200);
  EXPECT_EQ(send(sim.port(), "GET", "/_sim/config").status, 401);
}

TEST(standalone_sim_token, a_given_one_is_used_and_never_printed) {
  child_process sim{{std::string{LS_BINARY_DIR} + "/mailchimp-sim", "--listen",
                     "127.0.0.1:0", "--empty", "--control-token",
                     test_sim_token},
                    R"(listening on http://127\.0\.0\.1:(\d+))"};
  ASSERT_NE(sim.port(), 0) << sim.log();
  EXPECT_EQ(sim.log().find("token"), std::string::npos) << sim.log();
  EXPECT_EQ(send(sim.port(), "GET", "/_sim/config", {}, sim_auth()).status,
            200);
  EXPECT_EQ(send(sim.port(), "POST", "/_sim/reset", {},
                 sim_auth("test-sim-control-token-012345678X"))
                .status,
            401);
  // Too short a token stops it before it listens.
  child_process bad{{std::string{LS_BINARY_DIR} + "/mailchimp-sim", "--listen",
                     "127.0.0.1:0", "--control-token", "short"},
                    R"(listening on http://127\.0\.0\.1:(\d+))",
                    std::chrono::seconds(5)};
  EXPECT_EQ(bad.port(), 0);
  EXPECT_NE(bad.log().find("at least 16 printable characters"),
            std::string::npos)
      << bad.log();
}
