// The custom webhook against a receiver on loopback (allowed by the test
// config): signed messages, retries, 410, rotation, redelivery, the SSRF guard
// at configuration, and kill -9 with a delivery on the wire.
#include "fixture.hpp"
#include "http/codec/problem.hpp"
#include "http/server.hpp"
#include "process.hpp"
#include "receiver.hpp"
#include "storage/crypto.hpp"

#include <fstream>
#include <mutex>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

std::string header(const ls::http::request& r, const char* name) {
  auto* v = r.header(name);
  return v ? *v : std::string{};
}

/// The secret's raw bytes from its "whsec_…" form.
std::string raw_secret(const std::string& shown) {
  EXPECT_EQ(shown.rfind("whsec_", 0), 0u) << shown;
  return ls::crypto::from_base64(shown.substr(6)).value_or("");
}

/// Whether `r` carries a v1 signature made with `secret`.
bool signed_with(const ls::http::request& r, const std::string& secret) {
  auto content = header(r, "webhook-id") + "." +
                 header(r, "webhook-timestamp") + "." + r.body;
  auto expected =
      "v1," + ls::crypto::base64(ls::crypto::hmac_sha256(secret, content));
  auto sigs = header(r, "webhook-signature");
  size_t pos = 0;
  while (pos <= sigs.size()) {
    auto end = sigs.find(' ', pos);
    if (sigs.substr(pos, end - pos) == expected) return true;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return false;
}

class webhooks : public service_fixture {
protected:
  void adjust(ls::config::config& c) override {
    c.webhooks.allow_private_targets = true;
    svc_opts.webhook_schedule = {1ms, 1ms, 1ms}; // three quick retries
  }
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("hooked");
  }
  /// Sets the webhook to the receiver; returns the secret's raw bytes.
  std::string set_webhook(const std::string& events = {}) {
    auto body = R"({"url":")" + in.url() + "\"" +
                (events.empty() ? "" : R"(,"events":)" + events) + "}";
    auto r = as(a.token, "PUT", "/api/v1/integrations/webhook", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return raw_secret(str(r.json()["secret"]));
  }
  json_doc deliveries() {
    return as(a.token, "GET", "/api/v1/integrations/webhook/deliveries").json();
  }
  /// Waits (with a deadline) until the newest delivery has `status`.
  bool newest_is(const std::string& status) {
    return ls::http::test::wait_until([&] {
      auto d = deliveries();
      auto items = simdjson::dom::array(d["items"]);
      return items.size() > 0 && str((*items.begin())["status"]) == status;
    });
  }
  receiver in;
  account a;
};

} // namespace

TEST_F(webhooks, events_arrive_signed_and_the_secret_is_shown_once) {
  auto secret = set_webhook();
  ASSERT_EQ(secret.size(), 32u);
  auto got = as(a.token, "GET", "/api/v1/integrations/webhook").json();
  EXPECT_TRUE(got["secret"].is_null());
  EXPECT_EQ(str(got["status"]), "active");
  EXPECT_EQ(simdjson::dom::array(got["events"]).size(), 6u);

  auto id = subscribe(a, R"({"email":"fan@gmail.com","name":"Ana"})");
  auto r = in.nth(0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/hook");
  EXPECT_EQ(header(*r, "content-type"), "application/json");
  EXPECT_EQ(header(*r, "webhook-id").rfind("msg_", 0), 0u);
  EXPECT_TRUE(signed_with(*r, secret)) << header(*r, "webhook-signature");
  auto body = json_doc::parse(r->body);
  EXPECT_EQ(str(body["type"]), "subscriber.created");
  EXPECT_EQ(str(body["data"]["id"]), id);
  EXPECT_EQ(str(body["data"]["email"]), "fan@gmail.com");
  EXPECT_FALSE(str(body["timestamp"]).empty());
  // Unsubscribing and deleting are events too.
  as(a.token, "PATCH", "/api/v1/subscribers/" + id,
     R"({"status":"unsubscribed"})");
  as(a.token, "DELETE", "/api/v1/subscribers/" + id);
  auto second = in.nth(1);
  auto third = in.nth(2);
  ASSERT_TRUE(second && third);
  EXPECT_EQ(str(json_doc::parse(second->body)["type"]),
            "subscriber.unsubscribed");
  EXPECT_EQ(str(json_doc::parse(third->body)["type"]), "subscriber.deleted");
  EXPECT_TRUE(newest_is("delivered"));
}

TEST_F(webhooks, only_the_chosen_events_go) {
  set_webhook(R"(["subscriber.deleted"])");
  auto id = subscribe(a, R"({"email":"fan@gmail.com"})");
  as(a.token, "DELETE", "/api/v1/subscribers/" + id);
  auto r = in.nth(0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(str(json_doc::parse(r->body)["type"]), "subscriber.deleted");
  EXPECT_TRUE(newest_is("delivered"));
  EXPECT_EQ(in.count(), 1u);
}

TEST_F(webhooks, failures_are_retried_with_the_same_id_and_logged) {
  auto secret = set_webhook();
  in.answer({500, 503, 302});
  subscribe(a, R"({"email":"fan@gmail.com"})");
  auto last = in.nth(3);
  ASSERT_TRUE(last.has_value());
  auto first = in.nth(0);
  EXPECT_EQ(header(*first, "webhook-id"), header(*last, "webhook-id"));
  EXPECT_TRUE(signed_with(*last, secret));
  ASSERT_TRUE(newest_is("delivered"));
  auto d = deliveries();
  auto item = *simdjson::dom::array(d["items"]).begin();
  auto attempts = simdjson::dom::array(item["attempts"]);
  ASSERT_EQ(attempts.size(), 4u);
  std::vector<uint64_t> statuses;
  for (auto at : attempts)
    statuses.push_back(uint64_t(at["status"]));
  EXPECT_EQ(statuses, (std::vector<uint64_t>{500, 503, 302, 204}));
  auto redirect = *std::next(attempts.begin(), 2);
  EXPECT_EQ(str(redirect["error"]), "redirects are not followed");
}

TEST_F(webhooks, a_delivery_fails_after_the_last_retry_and_can_be_redelivered) {
  set_webhook();
  in.answer({500, 500, 500, 500});
  subscribe(a, R"({"email":"fan@gmail.com"})");
  ASSERT_TRUE(newest_is("failed"));
  EXPECT_EQ(in.count(), 4u); // the first try and three retries
  auto d = deliveries();
  auto id = str((*simdjson::dom::array(d["items"]).begin())["id"]);
  auto r = as(a.token, "POST",
              "/api/v1/integrations/webhook/deliveries/" + id + "/redeliver");
  EXPECT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(in.nth(4).has_value());
  EXPECT_TRUE(newest_is("delivered"));
  EXPECT_EQ(header(*in.nth(0), "webhook-id"), header(*in.nth(4), "webhook-id"));
  // Nobody else can see or redeliver it.
  auto b = signup("stranger");
  EXPECT_EQ(as(b.token, "POST",
               "/api/v1/integrations/webhook/deliveries/" + id + "/redeliver")
                .status,
            404);
  auto theirs =
      as(b.token, "GET", "/api/v1/integrations/webhook/deliveries").json();
  EXPECT_EQ(simdjson::dom::array(theirs["items"]).size(), 0u);
  EXPECT_EQ(as(b.token, "GET", "/api/v1/integrations/webhook").status, 404);
}

TEST_F(webhooks, gone_disables_the_endpoint_until_it_is_set_again) {
  set_webhook();
  in.answer({410});
  subscribe(a, R"({"email":"one@gmail.com"})");
  ASSERT_TRUE(newest_is("failed"));
  auto w = as(a.token, "GET", "/api/v1/integrations/webhook").json();
  EXPECT_EQ(str(w["status"]), "disabled");
  EXPECT_NE(str(w["disabled_reason"]).find("410"), std::string::npos);
  // While disabled nothing goes out.
  subscribe(a, R"({"email":"two@gmail.com"})");
  EXPECT_EQ(as(a.token, "POST", "/api/v1/integrations/webhook/test").status,
            202);
  ASSERT_TRUE(newest_is("failed"));
  EXPECT_EQ(in.count(), 1u);
  // Setting it again enables it (and keeps the secret).
  auto again = as(a.token, "PUT", "/api/v1/integrations/webhook",
                  R"({"url":")" + in.url() + "\"}");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(again.json()["secret"].is_null());
  EXPECT_EQ(str(again.json()["status"]), "active");
  as(a.token, "POST", "/api/v1/integrations/webhook/test");
  auto test = in.nth(1);
  ASSERT_TRUE(test.has_value());
  EXPECT_EQ(str(json_doc::parse(test->body)["type"]), "webhook.test");
}

TEST_F(webhooks, after_a_rotation_both_secrets_sign_for_a_day) {
  auto old_secret = set_webhook();
  auto r = as(a.token, "POST", "/api/v1/integrations/webhook/rotate-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  auto new_secret = raw_secret(str(r.json()["secret"]));
  EXPECT_NE(new_secret, old_secret);
  as(a.token, "POST", "/api/v1/integrations/webhook/test");
  auto got = in.nth(0);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(signed_with(*got, new_secret));
  EXPECT_TRUE(signed_with(*got, old_secret));
  EXPECT_NE(header(*got, "webhook-signature").find(' '), std::string::npos);
}

TEST_F(webhooks, deleting_the_webhook_stops_deliveries) {
  set_webhook();
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/integrations/webhook").status, 204);
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/integrations/webhook").status, 404);
  EXPECT_EQ(as(a.token, "POST", "/api/v1/integrations/webhook/test").status,
            404);
  subscribe(a, R"({"email":"fan@gmail.com"})");
  auto d = deliveries();
  EXPECT_EQ(simdjson::dom::array(d["items"]).size(), 0u);
}

namespace {

/// The real guard: no private targets.
class guarded_webhooks : public service_fixture {
protected:
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("guarded");
  }
  int put(const std::string& body) {
    return as(a.token, "PUT", "/api/v1/integrations/webhook", body).status;
  }
  std::string detail(const std::string& body) {
    return as(a.token, "PUT", "/api/v1/integrations/webhook", body).body;
  }
  account a;
};

} // namespace

TEST_F(guarded_webhooks, private_and_malformed_targets_are_refused) {
  for (auto url :
       {"http://127.0.0.1:9/x", "http://localhost/x", "http://2130706433/",
        "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://[::1]/",
        "http://10.0.0.5/", "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/", "http://100.64.1.1/"}) {
    auto body = std::string(R"({"url":")") + url + "\"}";
    EXPECT_EQ(put(body), 422) << url;
    EXPECT_NE(detail(body).find("public addresses"), std::string::npos) << url;
  }
  EXPECT_EQ(put(R"({"url":"ftp://8.8.8.8/"})"), 422);
  EXPECT_EQ(put(R"({"url":"http://user:pw@8.8.8.8/"})"), 422);
  EXPECT_EQ(put(R"({"url":"https://8.8.8.8/","events":["nope"]})"), 422);
  EXPECT_EQ(put(R"({"url":"https://8.8.8.8/","events":[]})"), 422);
  EXPECT_EQ(put(R"({"events":["subscriber.created"]})"), 422);
  EXPECT_EQ(put(R"({"url":"https://8.8.8.8/","extra":1})"), 422);
  // A public address is accepted (nothing is sent until an event).
  EXPECT_EQ(put(R"({"url":"https://8.8.8.8/hooks"})"), 201);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/integrations/webhook").status, 200);
  // No token: 401, as every account route.
  EXPECT_EQ(call("GET", "/api/v1/integrations/webhook").status, 401);
}

TEST(webhook_crash, a_delivery_on_the_wire_at_kill_9_goes_out_after_restart) {
  auto dir = temp_dir("hookcrash");
  auto config = dir + "/test.toml";
  {
    std::ofstream f{config};
    f << "[server]\nlisten = \"127.0.0.1:0\"\n"
      << "[storage]\npath = \"" << dir << "/data\"\n"
      << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
      << "[mailchimp]\nsandbox_listen = \"127.0.0.1:0\"\n"
      << "[webhooks]\nallow_private_targets = true\n"
      << "[log]\nlevel = \"info\"\n";
  }
  receiver in;
  in.answer({0}); // the first delivery hangs: it is on the wire at the kill
  std::string token;
  {
    server_process server{config};
    ASSERT_NE(server.port(), 0) << server.log();
    auto port = server.port();
    auto signup = send(
        port, "POST", "/api/v1/accounts",
        R"({"email":"hook@example.org","password":"correct horse","handle":"hook"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    token = str(signup.json()["api_token"]);
    headers auth{{"authorization", "Bearer " + token}};
    ASSERT_EQ(send(port, "PUT", "/api/v1/integrations/webhook",
                   R"({"url":")" + in.url() + "\"}", auth)
                  .status,
              201);
    ASSERT_EQ(send(port, "POST", "/api/v1/public/hook/subscribe",
                   R"({"email":"fan@gmail.com"})")
                  .status,
              202);
    ASSERT_TRUE(in.nth(0).has_value()); // on the wire, unanswered
    server.kill9();
  }
  server_process again{config};
  ASSERT_NE(again.port(), 0) << again.log();
  // At least once, with the same id: the receiver can tell it is a repeat.
  auto resent = in.nth(1);
  ASSERT_TRUE(resent.has_value()) << again.log();
  EXPECT_EQ(header(*resent, "webhook-id"), header(*in.nth(0), "webhook-id"));
  EXPECT_EQ(resent->body, in.nth(0)->body);
  std::filesystem::remove_all(dir);
}

TEST_F(webhooks, failed_deliveries_since_a_time_can_be_replayed) {
  set_webhook();
  in.answer({500, 500, 500, 500, 500, 500, 500, 500});
  subscribe(a, R"({"email":"one@gmail.com"})");
  ASSERT_TRUE(newest_is("failed"));
  subscribe(a, R"({"email":"two@gmail.com"})");
  ASSERT_TRUE(newest_is("failed"));
  EXPECT_EQ(in.count(), 8u);
  // Nothing failed after now: nothing to replay.
  auto none =
      as(a.token, "POST", "/api/v1/integrations/webhook/deliveries/replay",
         R"({"since":"2999-01-01T00:00:00Z"})");
  EXPECT_EQ(none.status, 202) << none.body;
  EXPECT_EQ(uint64_t(none.json()["replayed"]), 0u);
  auto all =
      as(a.token, "POST", "/api/v1/integrations/webhook/deliveries/replay",
         R"({"since":"2020-01-01T00:00:00Z"})");
  EXPECT_EQ(uint64_t(all.json()["replayed"]), 2u);
  ASSERT_TRUE(in.nth(9).has_value());
  EXPECT_TRUE(ls::http::test::wait_until([&] {
    auto d = deliveries();
    for (auto item : simdjson::dom::array(d["items"]))
      if (str(item["status"]) != "delivered") return false;
    return true;
  }));
  EXPECT_EQ(as(a.token, "POST",
               "/api/v1/integrations/webhook/deliveries/replay",
               R"({"since":"yesterday"})")
                .status,
            422);
}
