// The simulator's control surface, connection limit, latency and faults.
#include "sim_fixture.hpp"

#include <thread>

using namespace ls::mcsim;
using namespace ls::mcsim::test;
using steady = std::chrono::steady_clock;

namespace {

std::string ping_request(uint16_t port, const std::string& token) {
  return raw_request(port, "GET", "/3.0/ping", {},
                     {{"Authorization", "Bearer " + token}});
}

TEST_F(sim_test, ResetEmptiesAndCanReseed) {
  auto r = ctl("POST", "/_sim/reset");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.str("/reset"), "empty");
  EXPECT_EQ(ctl("GET", "/_sim/lists").size("/lists"), 0u);
  EXPECT_EQ(ctl("GET", "/_sim/users").size("/users"), 0u);
  EXPECT_EQ(ctl("GET", "/_sim/apps").size("/apps"), 0u);
  EXPECT_EQ(ctl("POST", "/_sim/tokens", "{}").status, 404);
  auto d = ctl("POST", "/_sim/reset", R"({"seed_defaults":true})");
  EXPECT_EQ(d.str("/reset"), "defaults");
  EXPECT_EQ(ctl("GET", "/_sim/lists").size("/lists"), 2u);
  EXPECT_EQ(ctl("GET", "/_sim/users").str("/users/0/login"), "sandbox-user");
}

TEST_F(sim_test, AppsOfTheEmbeddingProgramSurviveReset) {
  sim_->add_app("configured", "secret", {"http://127.0.0.1:3000/cb"});
  ASSERT_EQ(
      ctl("POST", "/_sim/apps",
          R"({"client_id":"posted","client_secret":"s","redirect_uris":[]})")
          .status,
      201);
  ctl("POST", "/_sim/reset");
  auto apps = ctl("GET", "/_sim/apps");
  ASSERT_EQ(apps.size("/apps"), 1u);
  EXPECT_EQ(apps.str("/apps/0/client_id"), "configured");
  EXPECT_EQ(apps.str("/apps/0/redirect_uris/0"), "http://127.0.0.1:3000/cb");
}

TEST_F(sim_test, EmptyStartAndSeedingThroughTheControlSurface) {
  start(empty_options());
  EXPECT_EQ(ctl("GET", "/_sim/lists").size("/lists"), 0u);
  auto u = ctl("POST", "/_sim/users", R"({"login":"acme","dc":"us5"})");
  ASSERT_EQ(u.status, 201) << u.body;
  EXPECT_EQ(u.str("/login"), "acme");
  EXPECT_EQ(u.str("/dc"), "us5");
  EXPECT_GT(u.num("/user_id"), 0);
  EXPECT_EQ(ctl("POST", "/_sim/users", R"({"login":"acme"})").status, 409);
  EXPECT_EQ(ctl("POST", "/_sim/users", R"({"dc":"us5"})").status, 400);

  auto l = ctl("POST", "/_sim/lists",
               R"({"user":"acme","name":"Leads","double_optin":true})");
  ASSERT_EQ(l.status, 201) << l.body;
  auto id = l.str("/id");
  EXPECT_EQ(id.size(), 10u);
  EXPECT_EQ(ctl("POST", "/_sim/lists", R"({"user":"ghost","name":"x"})").status,
            404);

  for (auto [email, status] : std::vector<std::pair<std::string, std::string>>{
           {"s@gmail.com", "subscribed"},
           {"u@gmail.com", "unsubscribed"},
           {"c@gmail.com", "cleaned"},
           {"k@gmail.com", "complained"},
           {"f@gmail.com", "forgotten"}}) {
    auto m = ctl("POST", "/_sim/lists/" + id + "/members",
                 R"({"email_address":")" + email + R"(","status":")" + status +
                     R"(","merge_fields":{"FNAME":"F"},"tags":["seed"]})");
    ASSERT_EQ(m.status, 201) << m.body;
    EXPECT_EQ(m.str("/status"), status);
  }
  EXPECT_EQ(ctl("POST", "/_sim/lists/" + id + "/members",
                R"({"email_address":"x@gmail.com","status":"archived"})")
                .status,
            400);
  EXPECT_EQ(ctl("POST", "/_sim/lists/0000000000/members",
                R"({"email_address":"x@gmail.com","status":"subscribed"})")
                .status,
            404);

  auto all = ctl("GET", "/_sim/lists/" + id + "/members");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.num("/total_items"), 5);
  EXPECT_EQ(all.str("/members/3/status"), "complained");
  EXPECT_EQ(all.str("/members/4/status"), "forgotten");
  EXPECT_EQ(all.str("/members/0/merge_fields/FNAME"), "F");
  EXPECT_EQ(all.str("/members/0/tags/0"), "seed");

  auto token = token_for("acme");
  auto lists = api("GET", "/3.0/lists", token);
  EXPECT_EQ(lists.num("/total_items"), 1);
  EXPECT_TRUE(lists.j().boolean("/lists/0/double_optin"));
  EXPECT_EQ(lists.num("/lists/0/stats/member_count"), 1);
  // A complained member reads as unsubscribed.
  auto k = api("GET", "/3.0/lists/" + id + "/members/k%40gmail.com", token);
  EXPECT_EQ(k.str("/status"), "unsubscribed");
}

TEST_F(sim_test, ConfigAndLatency) {
  auto c = ctl("POST", "/_sim/config", R"({"latency_ms":400})");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.num("/latency_ms"), 400);
  EXPECT_EQ(c.num("/max_connections"), 10);
  EXPECT_EQ(ctl("POST", "/_sim/config", R"({"latency_ms":"x"})").status, 400);
  auto token = token_for();
  auto t0 = steady::now();
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  EXPECT_GE(steady::now() - t0, 400ms);
  // The control surface itself is never delayed.
  t0 = steady::now();
  ctl("GET", "/_sim/config");
  EXPECT_LT(steady::now() - t0, 400ms);
}

TEST_F(sim_test, ElevenConcurrentRequestsGetOne429) {
  auto token = token_for();
  ASSERT_EQ(ctl("POST", "/_sim/config", R"({"latency_ms":500})").status, 200);
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 11; ++i) {
    clients.push_back(std::make_unique<client>(port_));
    ASSERT_TRUE(clients.back()->send(ping_request(port_, token)));
  }
  int ok = 0, limited = 0;
  std::string body429;
  for (auto& c : clients) {
    auto r = c->read_response(false, 5000ms);
    ASSERT_TRUE(r);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      body429 = r->body;
    }
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(limited, 1);
  json j(body429);
  EXPECT_EQ(j.str("/title"), "Too Many Requests");
  EXPECT_EQ(j.str("/detail"),
            "You have exceeded the limit of 10 simultaneous connections.");
  auto s = ctl("GET", "/_sim/stats");
  EXPECT_EQ(s.num("/users/sandbox-user/max_in_flight"), 10);
  EXPECT_EQ(s.num("/users/sandbox-user/in_flight"), 0);
  EXPECT_EQ(s.num("/users/sandbox-user/requests"), 11);
  EXPECT_EQ(s.num("/users/sandbox-user/by_status/200"), 10);
  EXPECT_EQ(s.num("/users/sandbox-user/by_status/429"), 1);

  // The limit is per user: another user is not affected.
  ASSERT_EQ(ctl("POST", "/_sim/users", R"({"login":"other"})").status, 201);
  EXPECT_EQ(api("GET", "/3.0/ping", token_for("other")).status, 200);
  ASSERT_EQ(ctl("DELETE", "/_sim/stats").status, 204);
  EXPECT_EQ(ctl("GET", "/_sim/stats").num("/users/sandbox-user/requests"), 0);
}

TEST_F(sim_test, MaxConnectionsIsConfigurable) {
  options o;
  o.max_connections = 2;
  o.latency = 200ms;
  start(o);
  auto token = token_for();
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<client>(port_));
    ASSERT_TRUE(clients.back()->send(ping_request(port_, token)));
  }
  int limited = 0;
  for (auto& c : clients) {
    auto r = c->read_response(false, 5000ms);
    ASSERT_TRUE(r);
    limited += r->status == 429;
  }
  EXPECT_EQ(limited, 1);
  EXPECT_EQ(ctl("GET", "/_sim/stats").num("/users/sandbox-user/max_in_flight"),
            2);
}

TEST_F(sim_test, StatusFault) {
  auto token = token_for();
  auto f = ctl(
      "POST", "/_sim/faults",
      R"({"method":"GET","path_prefix":"/3.0/lists","status":503,"body":"<html>blocked</html>","count":2})");
  ASSERT_EQ(f.status, 201) << f.body;
  EXPECT_EQ(f.num("/count"), 2);
  // Not matching: another path, another method.
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  EXPECT_EQ(api("POST", "/3.0/lists", token, "{}").status, 400);
  for (int i = 0; i < 2; ++i) {
    auto r = api("GET", "/3.0/lists", token);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, "<html>blocked</html>");
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  }
  EXPECT_EQ(api("GET", "/3.0/lists", token).status, 200);
  EXPECT_EQ(ctl("GET", "/_sim/faults").size("/faults"), 0u);

  // Without a body: an empty one (a 429 under load may have none).
  ctl("POST", "/_sim/faults", R"({"status":429})");
  auto r = api("GET", "/3.0/ping", token);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(ctl("GET", "/_sim/stats").num("/users/sandbox-user/by_status/429"),
            1);

  // Faults also reach the OAuth host.
  ctl("POST", "/_sim/faults",
      R"({"path_prefix":"/oauth2/token","status":500,"body":"{\"error\":\"server_error\"}"})");
  auto t = call("POST", "/oauth2/token", "grant_type=authorization_code",
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(t.status, 500);
  EXPECT_EQ(t.header("content-type"), "application/json; charset=utf-8");
}

TEST_F(sim_test, FaultValidation) {
  EXPECT_EQ(ctl("POST", "/_sim/faults", "{}").status, 400);
  EXPECT_EQ(ctl("POST", "/_sim/faults", R"({"status":42})").status, 400);
  EXPECT_EQ(ctl("POST", "/_sim/faults", R"({"status":500,"count":0})").status,
            400);
  EXPECT_EQ(ctl("POST", "/_sim/faults", R"({"drop":true,"hang":true})").status,
            400);
  EXPECT_EQ(ctl("POST", "/_sim/faults", R"({"drop":true,"status":500})").status,
            400);
  EXPECT_EQ(ctl("POST", "/_sim/faults", "not json").status, 400);
  ASSERT_EQ(ctl("POST", "/_sim/faults", R"({"status":500,"count":3})").status,
            201);
  EXPECT_EQ(ctl("GET", "/_sim/faults").size("/faults"), 1u);
  EXPECT_EQ(ctl("DELETE", "/_sim/faults").status, 204);
  EXPECT_EQ(ctl("GET", "/_sim/faults").size("/faults"), 0u);
}

TEST_F(sim_test, DropFaultClosesTheConnection) {
  auto token = token_for();
  ASSERT_EQ(
      ctl("POST", "/_sim/faults", R"({"path_prefix":"/3.0/ping","drop":true})")
          .status,
      201);
  client c(port_);
  ASSERT_TRUE(c.send(ping_request(port_, token)));
  auto r = c.read_response(false, 3000ms);
  EXPECT_FALSE(r);
  EXPECT_TRUE(c.eof());
  // The next call is normal, and nothing stays in flight.
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  EXPECT_EQ(ctl("GET", "/_sim/stats").num("/users/sandbox-user/in_flight"), 0);
}

TEST_F(sim_test, DelayFaultThenNormalAnswer) {
  auto token = token_for();
  ASSERT_EQ(ctl("POST", "/_sim/faults",
                R"({"path_prefix":"/3.0/ping","delay_ms":400})")
                .status,
            201);
  auto t0 = steady::now();
  auto r = api("GET", "/3.0/ping", token);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.str("/health_status"), "Everything's Chimpy!");
  EXPECT_GE(steady::now() - t0, 400ms);
  t0 = steady::now();
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  EXPECT_LT(steady::now() - t0, 400ms);
}

TEST_F(sim_test, HangFaultHoldsUntilReset) {
  auto token = token_for();
  ASSERT_EQ(ctl("POST", "/_sim/faults", R"({"hang":true})").status, 201);
  client c(port_);
  ASSERT_TRUE(c.send(ping_request(port_, token)));
  EXPECT_FALSE(c.read_response(false, 200ms)); // no answer
  // A hung request still counts as open.
  EXPECT_EQ(ctl("GET", "/_sim/stats").num("/users/sandbox-user/in_flight"), 1);
  ctl("POST", "/_sim/reset");
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST_F(sim_test, StopReleasesHungRequests) {
  auto token = token_for();
  ASSERT_EQ(ctl("POST", "/_sim/faults", R"({"hang":true})").status, 201);
  ASSERT_EQ(ctl("POST", "/_sim/config", R"({"latency_ms":60000})").status, 200);
  client hung(port_), delayed(port_);
  ASSERT_TRUE(hung.send(ping_request(port_, token)));
  ASSERT_TRUE(ls::http::test::wait_until([&] {
    return ctl("GET", "/_sim/stats").num("/users/sandbox-user/in_flight") == 1;
  }));
  ASSERT_TRUE(delayed.send(ping_request(port_, token)));
  ASSERT_TRUE(ls::http::test::wait_until([&] {
    return ctl("GET", "/_sim/stats").num("/users/sandbox-user/in_flight") == 2;
  }));
  auto t0 = steady::now();
  sim_->stop();
  EXPECT_TRUE(hung.wait_closed(3000ms));
  // The delayed one is released too: the server answers for the dropped
  // responder.
  auto r = delayed.read_response(false, 3000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_LT(steady::now() - t0, 3000ms);
  // After stop: answers 503.
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 503);
}

TEST_F(sim_test, ControlSurfaceErrors) {
  EXPECT_EQ(ctl("GET", "/_sim/nothing").status, 404);
  EXPECT_EQ(ctl("PUT", "/_sim/lists").status, 405);
  EXPECT_EQ(ctl("POST", "/_sim/lists", "[").status, 400);
  EXPECT_EQ(ctl("POST", "/_sim/lists", "[]").status, 400);
  EXPECT_EQ(ctl("DELETE", "/_sim/lists/0000000000").status, 404);
  EXPECT_EQ(ctl("GET", "/_sim/lists/0000000000/members").status, 404);
  EXPECT_EQ(
      ctl("POST", "/_sim/apps", R"({"client_id":"a","client_secret":"b"})")
          .status,
      400);
  EXPECT_EQ(ctl("POST", "/_sim/lists", R"({"name":"X","id":"NOTHEX"})").status,
            400);
  auto fixed = ctl("POST", "/_sim/lists", R"({"name":"X","id":"0123456789"})");
  EXPECT_EQ(fixed.status, 201);
  EXPECT_EQ(fixed.str("/id"), "0123456789");
  EXPECT_EQ(
      ctl("POST", "/_sim/lists", R"({"name":"X","id":"0123456789"})").status,
      409);
}

} // namespace
