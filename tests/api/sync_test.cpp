// Sync jobs against the in-process sandbox simulator: soft skips, faults,
// cancel and retry.
#include "mailchimp_fixture.hpp"

#include <atomic>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

class sync_jobs : public mailchimp_connect {
protected:
  void adjust(ls::config::config&) override {
    svc_opts.retry_base =
        std::chrono::milliseconds(5); // backoffs in milliseconds
  }
  void SetUp() override {
    mailchimp_connect::SetUp();
    audience = connect_and_choose();
    ASSERT_FALSE(audience.empty());
  }
  std::string queue() {
    auto r = as(a.token, "POST", "/api/v1/sync-jobs",
                R"({"provider":"mailchimp","scope":{"type":"all"}})");
    EXPECT_EQ(r.status, 202) << r.body;
    return str(r.json()["id"]);
  }
  /// Waits (with a deadline) until the job reaches a final state; returns its
  /// JSON.
  json_doc wait_done(const std::string& id) {
    json_doc doc;
    ls::http::test::wait_until(
        [&] {
          doc = as(a.token, "GET", "/api/v1/sync-jobs/" + id).json();
          auto s = str(doc["status"]);
          return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED";
        },
        20000ms);
    return doc;
  }
  bool has_form = false;
  std::vector<std::string> stored_emails() {
    auto r = sim("GET", "/_sim/lists/" + audience + "/members");
    auto j = r.json();
    std::vector<std::string> out;
    for (auto m : simdjson::dom::array(j["members"]))
      if (str(m["status"]) == "subscribed")
        out.push_back(str(m["email_address"]));
    return out;
  }
  void fans() {
    // Custom fields are keys of the creator's own forms.
    if (!has_form) {
      auto form = as(a.token, "POST", "/api/v1/campaigns",
                     R"({"name":"Fans","fields":[{"key":"company",
                         "label":"Company","type":"text"}]})");
      ASSERT_EQ(form.status, 201) << form.body;
      has_form = true;
    }
    subscribe(
        a,
        R"({"email":"ana.fan@gmail.com","name":"Ana Lima","fields":{"company":"Acme"}})");
    subscribe(a, R"({"email":"unsubscribed.fan@gmail.com"})");
    subscribe(a, R"({"email":"forgotten.fan@gmail.com"})");
    subscribe(a, R"({"email":"bot@example.com"})");
    subscribe(a, R"({"phone":"+14155550100"})");
    auto gone = subscribe(a, R"({"email":"left@gmail.com"})");
    as(a.token, "PATCH", "/api/v1/subscribers/" + gone,
       R"({"status":"unsubscribed"})");
  }
  std::string audience;
};

} // namespace

// Signed up again on the public form after unsubscribing: sent to Mailchimp
// as "pending", so Mailchimp's confirmation email decides; still unsubscribed
// here.
TEST_F(sync_jobs, a_resubscribe_request_goes_to_mailchimp_as_pending) {
  auto id = subscribe(a, R"({"email":"back.again@gmail.com"})");
  ASSERT_EQ(as(a.token, "PATCH", "/api/v1/subscribers/" + id,
               R"({"status":"unsubscribed"})")
                .status,
            200);
  auto first = wait_done(queue());
  ASSERT_EQ(str(first["status"]), "COMPLETED");
  EXPECT_EQ(uint64_t(first["progress"]["created"]), 0u); // unsubscribed here
  subscribe(a, R"({"email":"back.again@gmail.com"})");
  auto j = wait_done(queue());
  ASSERT_EQ(str(j["status"]), "COMPLETED") << str(j["error"]["message"]);
  EXPECT_EQ(uint64_t(j["progress"]["created"]), 1u);
  auto members = sim("GET", "/_sim/lists/" + audience + "/members").json();
  std::string status;
  for (auto m : simdjson::dom::array(members["members"]))
    if (str(m["email_address"]) == "back.again@gmail.com")
      status = str(m["status"]);
  EXPECT_EQ(status, "pending");
  EXPECT_EQ(
      str(as(a.token, "GET", "/api/v1/subscribers/" + id).json()["status"]),
      "unsubscribed");
}

TEST_F(sync_jobs, a_sync_completes_with_the_soft_skips_explained) {
  fans();
  auto id = queue();
  auto j = wait_done(id);
  ASSERT_EQ(str(j["status"]), "COMPLETED") << str(j["error"]["message"]);
  auto p = j["progress"];
  EXPECT_EQ(uint64_t(p["total"]), 5u);
  EXPECT_EQ(uint64_t(p["created"]), 1u);
  EXPECT_EQ(uint64_t(p["skipped"]), 4u);
  EXPECT_EQ(uint64_t(p["total"]), uint64_t(p["created"]) +
                                      uint64_t(p["updated"]) +
                                      uint64_t(p["skipped"]));
  EXPECT_EQ(uint64_t(j["skipped"]["phone_only"]), 1u);
  EXPECT_EQ(uint64_t(j["skipped"]["must_resubscribe"]["count"]), 1u);
  EXPECT_EQ(uint64_t(j["skipped"]["forgotten"]["count"]), 1u);
  EXPECT_EQ(uint64_t(j["skipped"]["invalid_email"]["count"]), 1u);
  std::string notes;
  for (auto n : simdjson::dom::array(j["notes"]))
    notes += str(n) + "\n";
  EXPECT_NE(
      notes.find(
          "1 must re-subscribe in Mailchimp before they can receive emails "
          "(e.g. unsubscribed.fan@gmail.com)"),
      std::string::npos)
      << notes;
  auto emails = stored_emails();
  EXPECT_NE(std::find(emails.begin(), emails.end(), "ana.fan@gmail.com"),
            emails.end());
  EXPECT_EQ(std::find(emails.begin(), emails.end(), "left@gmail.com"),
            emails.end());
  // Mailchimp holds the merge fields.
  auto members = sim("GET", "/_sim/lists/" + audience + "/members");
  EXPECT_NE(members.body.find("\"FNAME\":\"Ana\""), std::string::npos)
      << members.body;
  EXPECT_NE(members.body.find("\"LNAME\":\"Lima\""), std::string::npos);
  EXPECT_NE(members.body.find("\"COMPANY\":\"Acme\""), std::string::npos);
  // The list shows it too.
  auto list = as(a.token, "GET", "/api/v1/sync-jobs?status=COMPLETED").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 1u);
}

TEST_F(sync_jobs, server_errors_are_retried_with_backoff) {
  fans();
  ASSERT_EQ(
      sim("POST", "/_sim/faults",
          R"({"method":"POST","path_prefix":"/3.0/lists/","status":500,"count":2})")
          .status,
      201);
  auto j = wait_done(queue());
  EXPECT_EQ(str(j["status"]), "COMPLETED") << str(j["error"]["message"]);
  EXPECT_EQ(uint64_t(j["progress"]["created"]), 1u);
}

TEST_F(sync_jobs, a_revoked_token_fails_the_job_and_a_retry_resumes_it) {
  fans();
  ASSERT_EQ(sim("POST", "/_sim/users/sandbox-user/revoke-tokens").status, 200);
  auto id = queue();
  auto j = wait_done(id);
  EXPECT_EQ(str(j["status"]), "FAILED");
  EXPECT_EQ(str(j["error"]["code"]), "token_revoked");
  EXPECT_FALSE(str(j["error"]["message"]).empty());
  // Reconnect, then retry: attempt 2 completes.
  ASSERT_EQ(finish(approve()),
            "/dashboard/email-collection?mailchimp=connected");
  auto r = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/retry");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(uint64_t(r.json()["attempt"]), 2u);
  auto again = wait_done(id);
  EXPECT_EQ(str(again["status"]), "COMPLETED")
      << str(again["error"]["message"]);
  EXPECT_EQ(as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/retry").status,
            409);
}

TEST_F(sync_jobs, a_deleted_audience_fails_the_job) {
  fans();
  ASSERT_EQ(sim("DELETE", "/_sim/lists/" + audience).status, 204);
  auto j = wait_done(queue());
  EXPECT_EQ(str(j["status"]), "FAILED");
  EXPECT_EQ(str(j["error"]["code"]), "audience_deleted");
}

TEST_F(sync_jobs, jobs_wait_in_order_and_a_pending_one_cancels_at_once) {
  fans();
  // Slow Mailchimp down so the first job is still running when the second is
  // queued.
  ASSERT_EQ(sim("POST", "/_sim/config", R"({"latency_ms":300})").status, 200);
  auto first = queue();
  auto second = queue();
  auto pending = as(a.token, "GET", "/api/v1/sync-jobs/" + second).json();
  EXPECT_EQ(str(pending["status"]), "PENDING");
  auto c = as(a.token, "POST", "/api/v1/sync-jobs/" + second + "/cancel");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(str(c.json()["status"]), "CANCELLED");
  EXPECT_EQ(
      as(a.token, "POST", "/api/v1/sync-jobs/" + second + "/cancel").status,
      409);
  EXPECT_EQ(str(wait_done(first)["status"]), "COMPLETED");
}

TEST_F(sync_jobs, bad_requests_and_other_accounts) {
  EXPECT_EQ(as(a.token, "POST", "/api/v1/sync-jobs", R"({"provider":"aweber"})")
                .status,
            422);
  EXPECT_EQ(
      as(a.token, "POST", "/api/v1/sync-jobs",
         R"({"provider":"mailchimp","scope":{"type":"campaign","campaign_id":"cmp_x"}})")
          .status,
      422);
  auto id = queue();
  auto b = signup("stranger");
  EXPECT_EQ(as(b.token, "GET", "/api/v1/sync-jobs/" + id).status, 404);
  EXPECT_EQ(as(b.token, "POST", "/api/v1/sync-jobs/" + id + "/cancel").status,
            404);
  EXPECT_EQ(as(b.token, "POST", "/api/v1/sync-jobs/" + id + "/retry").status,
            404);
  EXPECT_EQ(as(b.token, "POST", "/api/v1/sync-jobs",
               R"({"provider":"mailchimp","scope":{"type":"all"}})")
                .status,
            409);
  wait_done(id);
}

namespace {

/// Small batches, one at a time, so a sync takes several round trips.
class slow_sync : public sync_jobs {
protected:
  void adjust(ls::config::config& c) override {
    sync_jobs::adjust(c);
    c.mailchimp.batch_size = 1;
    c.mailchimp.max_connections = 1;
  }
};

} // namespace

TEST_F(slow_sync, cancelling_a_running_job_lets_the_batch_in_flight_finish) {
  fans();
  ASSERT_EQ(sim("POST", "/_sim/config", R"({"latency_ms":150})").status, 200);
  auto id = queue();
  ASSERT_TRUE(ls::http::test::wait_until(
      [&] {
        return str(as(a.token, "GET", "/api/v1/sync-jobs/" + id)
                       .json()["status"]) == "RUNNING";
      },
      10000ms));
  auto c = as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/cancel");
  ASSERT_EQ(c.status, 200) << c.body;
  auto j = wait_done(id);
  EXPECT_EQ(str(j["status"]), "CANCELLED");
  EXPECT_LT(uint64_t(j["progress"]["processed"]),
            uint64_t(j["progress"]["total"]));
  EXPECT_EQ(uint64_t(j["progress"]["processed"]),
            uint64_t(j["progress"]["created"]) +
                uint64_t(j["progress"]["updated"]) +
                uint64_t(j["progress"]["skipped"]));
  // A retry resumes where it stopped and completes.
  ASSERT_EQ(sim("POST", "/_sim/config", R"({"latency_ms":0})").status, 200);
  ASSERT_EQ(as(a.token, "POST", "/api/v1/sync-jobs/" + id + "/retry").status,
            200);
  auto again = wait_done(id);
  EXPECT_EQ(str(again["status"]), "COMPLETED");
  EXPECT_EQ(uint64_t(again["progress"]["total"]),
            uint64_t(again["progress"]["created"]) +
                uint64_t(again["progress"]["updated"]) +
                uint64_t(again["progress"]["skipped"]));
}

TEST_F(slow_sync, disconnecting_cancels_the_accounts_mailchimp_jobs) {
  fans();
  ASSERT_EQ(sim("POST", "/_sim/config", R"({"latency_ms":150})").status, 200);
  auto running = queue();
  auto waiting = queue();
  ASSERT_EQ(as(a.token, "DELETE", "/api/v1/integrations/mailchimp").status,
            204);
  auto w = wait_done(waiting);
  EXPECT_EQ(str(w["status"]), "CANCELLED");
  std::string notes;
  for (auto n : simdjson::dom::array(w["notes"]))
    notes += str(n);
  EXPECT_NE(notes.find("Mailchimp was disconnected"), std::string::npos)
      << notes;
  EXPECT_EQ(str(wait_done(running)["status"]), "CANCELLED");
}

namespace {

/// Short Mailchimp timeouts, so hangs are seen quickly.
class impatient_sync : public sync_jobs {
protected:
  void adjust(ls::config::config& c) override {
    sync_jobs::adjust(c);
    c.mailchimp.request_timeout = std::chrono::milliseconds(300);
  }
};

} // namespace

TEST_F(impatient_sync,
       bursts_of_429_hangs_and_dropped_connections_are_retried) {
  fans();
  ASSERT_EQ(
      sim("POST", "/_sim/faults",
          R"({"method":"POST","path_prefix":"/3.0/lists/","status":429,"count":2})")
          .status,
      201);
  ASSERT_EQ(
      sim("POST", "/_sim/faults",
          R"({"method":"POST","path_prefix":"/3.0/lists/","drop":true,"count":1})")
          .status,
      201);
  ASSERT_EQ(
      sim("POST", "/_sim/faults",
          R"({"method":"POST","path_prefix":"/3.0/lists/","delay_ms":2000,"count":1})")
          .status,
      201);
  auto j = wait_done(queue());
  EXPECT_EQ(str(j["status"]), "COMPLETED") << str(j["error"]["message"]);
  // A call that timed out or lost its connection may still have been applied,
  // so the resend can find the member already there: created or updated, but
  // there exactly once.
  EXPECT_EQ(uint64_t(j["progress"]["created"]) +
                uint64_t(j["progress"]["updated"]),
            1u);
  auto emails = stored_emails();
  EXPECT_EQ(std::count(emails.begin(), emails.end(), "ana.fan@gmail.com"), 1);
}

TEST_F(impatient_sync,
       errors_that_outlast_the_retries_fail_the_job_with_the_skips_kept) {
  fans();
  ASSERT_EQ(
      sim("POST", "/_sim/faults",
          R"({"method":"POST","path_prefix":"/3.0/lists/","status":503,"count":50})")
          .status,
      201);
  auto j = wait_done(queue());
  EXPECT_EQ(str(j["status"]), "FAILED");
  EXPECT_EQ(str(j["error"]["code"]), "mailchimp_unavailable");
  EXPECT_NE(str(j["error"]["message"]).find("retry"), std::string::npos);
  // Nothing reached Mailchimp; the phone-only skip seen so far is kept.
  EXPECT_EQ(uint64_t(j["progress"]["created"]), 0u);
}

TEST_F(sync_jobs, more_than_one_batch_of_members_goes_in_several_calls) {
  // 1,200 fans: three batch calls of at most 500 members.
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 6; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i)
        if (send(port, "POST", "/api/v1/public/chimp/subscribe",
                 R"({"email":"many)" + std::to_string(w) + "x" +
                     std::to_string(i) + R"(@gmail.com"})")
                .status == 202)
          ++ok;
    });
  for (auto& t : writers)
    t.join();
  ASSERT_EQ(ok, 1200);
  ASSERT_EQ(sim("DELETE", "/_sim/stats").status, 204);
  auto j = wait_done(queue());
  ASSERT_EQ(str(j["status"]), "COMPLETED") << str(j["error"]["message"]);
  EXPECT_EQ(uint64_t(j["progress"]["created"]), 1200u);
  auto stats = sim("GET", "/_sim/stats").json();
  // The audience check and three batch calls, all answered 200.
  EXPECT_EQ(uint64_t(stats["users"]["sandbox-user"]["by_status"]["200"]), 4u);
}

namespace {

/// One member per call with latency: a sync of 40 fans takes several seconds,
/// so something can happen to Mailchimp while it runs.
class long_sync : public slow_sync {
protected:
  std::string start_long_sync() {
    for (int i = 0; i < 40; ++i)
      subscribe(a, R"({"email":"fan)" + std::to_string(i) + R"(@gmail.com"})");
    EXPECT_EQ(sim("POST", "/_sim/config", R"({"latency_ms":100})").status, 200);
    auto id = queue();
    // Mid-job: at least one batch acknowledged.
    EXPECT_TRUE(ls::http::test::wait_until(
        [&] {
          return uint64_t(as(a.token, "GET", "/api/v1/sync-jobs/" + id)
                              .json()["progress"]["processed"]) >= 1;
        },
        10000ms));
    return id;
  }
  void expect_failed_midway(json_doc& j, const char* code) {
    EXPECT_EQ(str(j["status"]), "FAILED");
    EXPECT_EQ(str(j["error"]["code"]), code);
    auto processed = uint64_t(j["progress"]["processed"]);
    EXPECT_GE(processed, 1u);
    EXPECT_LT(processed, uint64_t(j["progress"]["total"]));
    EXPECT_EQ(processed, uint64_t(j["progress"]["created"]) +
                             uint64_t(j["progress"]["updated"]) +
                             uint64_t(j["progress"]["skipped"]));
  }
};

} // namespace

TEST_F(long_sync, a_token_revoked_mid_job_fails_it_and_keeps_the_progress) {
  auto id = start_long_sync();
  ASSERT_EQ(sim("POST", "/_sim/users/sandbox-user/revoke-tokens").status, 200);
  auto j = wait_done(id);
  expect_failed_midway(j, "token_revoked");
  EXPECT_NE(str(j["error"]["message"]).find("connect Mailchimp again"),
            std::string::npos);
  // The connection is flagged by the integrations actor, just after.
  EXPECT_TRUE(ls::http::test::wait_until([&] {
    return str(as(a.token, "GET", "/api/v1/integrations")
                   .json()["mailchimp"]["status"]) == "needs_reconnect";
  }));
  // What was acknowledged is in the audience.
  EXPECT_GE(stored_emails().size(), uint64_t(j["progress"]["created"]) +
                                        uint64_t(j["progress"]["updated"]));
}

TEST_F(long_sync, an_audience_deleted_mid_job_fails_it_and_keeps_the_progress) {
  auto id = start_long_sync();
  ASSERT_EQ(sim("DELETE", "/_sim/lists/" + audience).status, 204);
  auto j = wait_done(id);
  expect_failed_midway(j, "audience_deleted");
  EXPECT_NE(str(j["error"]["message"]).find("Newsletter"), std::string::npos)
      << str(j["error"]["message"]);
}
