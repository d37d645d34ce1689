// Security as tests: every route that takes an id, tried by another account;
// CSRF on every cookie-authenticated write; and no secret in any log line
// after a full flow.
#include "mailchimp_fixture.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

class security : public mailchimp_connect {
protected:
  void adjust(ls::config::config& c) override {
    c.webhooks.allow_private_targets = true; // the webhook goes to loopback
    c.admin.token = "admin-token-kept-out-of-logs";
    c.metrics.token = "metrics-token-kept-out-of-logs";
    // The sandbox makes its own control token, which must not be logged.
    c.mailchimp.sandbox_control_token.clear();
  }
  void SetUp() override {
    // Every log line of the whole flow, at the most verbose level.
    previous = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
    auto capture = std::make_shared<spdlog::logger>("capture", sink);
    capture->set_level(spdlog::level::trace);
    spdlog::set_default_logger(capture);
    mailchimp_connect::SetUp();
  }
  void TearDown() override {
    mailchimp_connect::TearDown();
    spdlog::set_default_logger(previous);
  }

  /// Everything account `a` owns: one object of each kind with an id.
  struct objects {
    std::string campaign, subscriber, mailchimp_job, handoff_job, delivery;
  };
  objects make_objects() {
    objects o;
    auto cmp = as(a.token, "POST", "/api/v1/campaigns",
                  R"({"name":"Spring","fields":[]})");
    EXPECT_EQ(cmp.status, 201) << cmp.body;
    o.campaign = str(cmp.json()["id"]);
    o.subscriber = subscribe(a, R"({"email":"secret.fan@gmail.com"})");
    connect_and_choose();
    auto job = as(a.token, "POST", "/api/v1/sync-jobs",
                  R"({"provider":"mailchimp","scope":{"type":"all"}})");
    EXPECT_EQ(job.status, 202) << job.body;
    o.mailchimp_job = str(job.json()["id"]);
    auto handoff = as(a.token, "POST", "/api/v1/sync-jobs",
                      R"({"provider":"kit","scope":{"type":"all"}})");
    EXPECT_EQ(handoff.status, 202) << handoff.body;
    o.handoff_job = str(handoff.json()["id"]);
    auto hook = as(a.token, "PUT", "/api/v1/integrations/webhook",
                   R"({"url":"http://127.0.0.1:1/hook"})");
    EXPECT_EQ(hook.status, 201) << hook.body;
    webhook_secret = str(hook.json()["secret"]);
    auto test = as(a.token, "POST", "/api/v1/integrations/webhook/test");
    EXPECT_EQ(test.status, 202) << test.body;
    o.delivery = str(test.json()["id"]);
    return o;
  }

  std::ostringstream logged;
  std::shared_ptr<spdlog::logger> previous;
  std::string webhook_secret;
};

struct route {
  const char* method;
  std::string target;
  std::string body;
};

std::vector<route> routes_with_ids(const std::string& cmp,
                                   const std::string& sub,
                                   const std::string& job,
                                   const std::string& handoff,
                                   const std::string& dlv) {
  return {
      {"GET", "/api/v1/campaigns/" + cmp, {}},
      {"PUT", "/api/v1/campaigns/" + cmp, R"({"name":"Taken","fields":[]})"},
      {"DELETE", "/api/v1/campaigns/" + cmp, {}},
      {"GET", "/api/v1/subscribers/" + sub, {}},
      {"PATCH", "/api/v1/subscribers/" + sub, R"({"name":"Taken"})"},
      {"DELETE", "/api/v1/subscribers/" + sub, {}},
      {"GET", "/api/v1/sync-jobs/" + job, {}},
      {"POST", "/api/v1/sync-jobs/" + job + "/cancel", {}},
      {"POST", "/api/v1/sync-jobs/" + job + "/retry", {}},
      {"GET", "/api/v1/sync-jobs/" + handoff + "/file.csv", {}},
      {"POST", "/api/v1/sync-jobs/" + handoff + "/complete", {}},
      {"POST", "/api/v1/sync-jobs/" + handoff + "/cancel", {}},
      {"POST",
       "/api/v1/integrations/webhook/deliveries/" + dlv + "/redeliver",
       {}},
      {"GET", "/api/v1/exports/subscribers.csv?campaign=" + cmp, {}},
      {"GET", "/api/v1/subscribers?campaign=" + cmp, {}},
  };
}

} // namespace

TEST_F(security, another_account_gets_404_on_every_route_that_takes_an_id) {
  auto o = make_objects();
  auto b = signup("intruder");
  for (auto& r : routes_with_ids(o.campaign, o.subscriber, o.mailchimp_job,
                                 o.handoff_job, o.delivery)) {
    auto got = as(b.token, r.method, r.target, r.body);
    // A campaign filter naming another account's campaign is refused like
    // any unknown campaign (404 or 422), never answered with its data.
    if (r.target.find("campaign=") != std::string::npos)
      EXPECT_TRUE(got.status == 404 || got.status == 422)
          << r.method << " " << r.target << " → " << got.status;
    else
      EXPECT_EQ(got.status, 404)
          << r.method << " " << r.target << ": " << got.body;
    EXPECT_EQ(got.body.find("secret.fan@gmail.com"), std::string::npos)
        << r.method << " " << r.target;
  }
  // Nothing of a's changed.
  EXPECT_EQ(as(a.token, "GET", "/api/v1/campaigns/" + o.campaign).status, 200);
  EXPECT_TRUE(as(a.token, "GET", "/api/v1/subscribers/" + o.subscriber)
                  .json()["name"]
                  .is_null());
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/sync-jobs/" + o.handoff_job)
                    .json()["status"]),
            "PENDING");
  // The intruder's own lists are empty.
  auto theirs = as(b.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(theirs["items"]).size(), 0u);
  auto jobs = as(b.token, "GET", "/api/v1/sync-jobs").json();
  EXPECT_EQ(simdjson::dom::array(jobs["items"]).size(), 0u);
}

TEST_F(security, every_cookie_authenticated_write_needs_the_csrf_token) {
  auto o = make_objects();
  auto routes = routes_with_ids(o.campaign, o.subscriber, o.mailchimp_job,
                                o.handoff_job, o.delivery);
  routes.push_back({"POST", "/api/v1/campaigns", R"({"name":"X"})"});
  routes.push_back({"PUT", "/api/v1/integrations/webhook",
                    R"({"url":"http://127.0.0.1:1/x"})"});
  routes.push_back({"DELETE", "/api/v1/integrations/webhook", {}});
  routes.push_back({"POST", "/api/v1/integrations/webhook/rotate-secret", {}});
  routes.push_back({"POST", "/api/v1/sync-jobs",
                    R"({"provider":"kit","scope":{"type":"all"}})"});
  routes.push_back({"DELETE", "/api/v1/integrations/mailchimp", {}});
  routes.push_back({"POST", "/api/v1/me/api-token", {}});
  for (auto& r : routes) {
    std::string m = r.method;
    if (m == "GET") continue;
    auto without = call(r.method, r.target, r.body, {{"cookie", cookie}});
    EXPECT_EQ(without.status, 403) << r.method << " " << r.target;
    auto wrong = call(r.method, r.target, r.body,
                      {{"cookie", cookie}, {"x-csrf-token", csrf + "x"}});
    EXPECT_EQ(wrong.status, 403) << r.method << " " << r.target;
  }
  // None of them did anything.
  EXPECT_EQ(as(a.token, "GET", "/api/v1/campaigns/" + o.campaign).status, 200);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/integrations/webhook").status, 200);
  EXPECT_EQ(str(as(a.token, "GET", "/api/v1/integrations")
                    .json()["mailchimp"]["status"]),
            "connected");
}

TEST_F(security, no_secret_reaches_a_log_line_in_a_full_flow) {
  auto o = make_objects();
  // The sync runs to its end; failures and refusals log too.
  ASSERT_TRUE(ls::http::test::wait_until([&] {
    auto s = str(as(a.token, "GET", "/api/v1/sync-jobs/" + o.mailchimp_job)
                     .json()["status"]);
    return s == "COMPLETED" || s == "FAILED";
  }));
  auto rotated =
      as(a.token, "POST", "/api/v1/integrations/webhook/rotate-secret");
  auto new_secret = str(rotated.json()["secret"]);
  call("POST", "/api/v1/session",
       R"({"email":")" + a.email + R"(","password":"wrong horse"})");
  as("not-a-real-token", "GET", "/api/v1/me");
  EXPECT_EQ(as("metrics-token-kept-out-of-logs", "GET", "/metrics").status,
            200);
  EXPECT_EQ(as("metrics-token-kept-out-of-logz", "GET", "/metrics").status,
            401);
  ASSERT_EQ(sim("POST", "/_sim/users/sandbox-user/revoke-tokens").status, 200);
  as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
  ASSERT_EQ(as(a.token, "DELETE", "/api/v1/integrations/mailchimp").status,
            204);
  auto sim_control_token = sim_token();
  ASSERT_EQ(sim_control_token.size(), 64u);
  svc.reset(); // every line is written
  auto text = logged.str();
  ASSERT_FALSE(text.empty()) << "the capture saw no log line at all";
  auto session = cookie.substr(cookie.find('=') + 1);
  for (auto& secret :
       {a.token, session, csrf, std::string{"correct horse"},
        std::string{"wrong horse"}, webhook_secret, new_secret,
        webhook_secret.substr(6), new_secret.substr(6),
        std::string{"admin-token-kept-out-of-logs"},
        // the right metrics token and the wrong one
        std::string{"metrics-token-kept-out-of-log"}, sim_control_token}) {
    ASSERT_GE(secret.size(), 8u);
    EXPECT_EQ(text.find(secret), std::string::npos)
        << "a secret is in the log: " << secret.substr(0, 4) << "…";
  }
  // Mailchimp's access token never appears either: no Authorization value
  // and no token field is ever logged.
  EXPECT_EQ(text.find("Bearer"), std::string::npos);
  EXPECT_EQ(text.find("access_token"), std::string::npos);
}
