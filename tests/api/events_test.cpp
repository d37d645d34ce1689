// The live event sockets: /api/v1/events (an account's own events) and
// /admin/events (every account's job events), over real WebSockets.
#include "mailchimp_fixture.hpp"
#include "ws_client.hpp"

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* admin_token = "admin-secret-token-for-tests";

class live_events : public mailchimp_connect {
protected:
  void adjust(ls::config::config& c) override { c.admin.token = admin_token; }

  /// A socket of the account with this API token, subscribed (the "ready"
  /// frame came).
  std::unique_ptr<ws_client> open(const std::string& target,
                                  const std::string& token) {
    auto ws = std::make_unique<ws_client>(
        port, target, ws_client::headers{{"authorization", "Bearer " + token}});
    EXPECT_TRUE(ws->ok()) << ws->status();
    EXPECT_EQ(ws->read(), R"({"type":"ready"})");
    return ws;
  }
};

} // namespace

TEST_F(live_events, an_account_sees_its_own_events_and_never_anothers) {
  auto b = signup("other");
  auto mine = open("/api/v1/events", a.token);
  auto theirs = open("/api/v1/events", b.token);
  auto id = subscribe(a, R"({"email":"fan@gmail.com","name":"Ana"})");
  auto m = mine->read();
  ASSERT_TRUE(m.has_value());
  auto doc = json_doc::parse(*m);
  EXPECT_EQ(str(doc["type"]), "subscriber.created");
  EXPECT_EQ(str(doc["subscriber"]["id"]), id);
  EXPECT_EQ(str(doc["subscriber"]["email"]), "fan@gmail.com");
  // b's next frame is b's own event: a's went to a only.
  subscribe(b, R"({"email":"other.fan@gmail.com"})");
  auto t = theirs->read();
  ASSERT_TRUE(t.has_value());
  EXPECT_NE(t->find("other.fan@gmail.com"), std::string::npos) << *t;
  EXPECT_EQ(t->find("\"fan@gmail.com"), std::string::npos) << *t;
  // Changes and deletions are events too.
  as(a.token, "PATCH", "/api/v1/subscribers/" + id,
     R"({"status":"unsubscribed"})");
  EXPECT_TRUE(mine->read_until("subscriber.unsubscribed").has_value());
  as(a.token, "DELETE", "/api/v1/subscribers/" + id);
  auto gone = mine->read_until("subscriber.deleted");
  ASSERT_TRUE(gone.has_value());
  EXPECT_NE(gone->find(id), std::string::npos);
}

TEST_F(live_events, a_sync_shows_live_to_its_account_and_to_the_admin) {
  connect_and_choose();
  subscribe(a, R"({"email":"ana.fan@gmail.com"})");
  auto mine = open("/api/v1/events", a.token);
  auto admin = open("/admin/events", admin_token);
  auto r = as(a.token, "POST", "/api/v1/sync-jobs",
              R"({"provider":"mailchimp","scope":{"type":"all"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto job = str(r.json()["id"]);
  for (auto* ws : {mine.get(), admin.get()}) {
    auto done = ws->read_until(R"("status":"COMPLETED")");
    ASSERT_TRUE(done.has_value());
    auto doc = json_doc::parse(*done);
    EXPECT_EQ(str(doc["type"]), "job.updated");
    EXPECT_EQ(str(doc["job"]["id"]), job);
    EXPECT_EQ(uint64_t(doc["job"]["progress"]["created"]), 1u);
  }
  // The admin's frames say whose job it is; the account's need not.
  subscribe(a, R"({"email":"second@gmail.com"})");
  as(a.token, "POST", "/api/v1/sync-jobs",
     R"({"provider":"mailchimp","scope":{"type":"all"}})");
  auto next = admin->read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(str(json_doc::parse(*next)["account_id"]), a.id);
  // Subscriber events are not admin events.
  EXPECT_EQ(next->find("subscriber."), std::string::npos) << *next;
}

TEST_F(live_events, sockets_need_credentials) {
  ws_client none(port, "/api/v1/events");
  EXPECT_FALSE(none.ok());
  EXPECT_EQ(none.status(), 401u);
  ws_client wrong(port, "/api/v1/events",
                  {{"authorization", "Bearer not-a-token"}});
  EXPECT_EQ(wrong.status(), 401u);
  ws_client not_admin(port, "/admin/events",
                      {{"authorization", "Bearer " + a.token}});
  EXPECT_EQ(not_admin.status(), 401u);
  // A token in the query string works (browsers cannot set headers).
  ws_client query(port, "/api/v1/events?access_token=" + a.token);
  EXPECT_TRUE(query.ok());
  EXPECT_EQ(query.read(), R"({"type":"ready"})");
  // The session cookie works from our own origin, not from another site's.
  ws_client own(port, "/api/v1/events",
                {{"cookie", cookie},
                 {"origin", "http://127.0.0.1:" + std::to_string(port)}});
  EXPECT_TRUE(own.ok()) << own.status();
  ws_client hijack(port, "/api/v1/events",
                   {{"cookie", cookie}, {"origin", "https://evil.example"}});
  EXPECT_EQ(hijack.status(), 403u);
  // Without the upgrade, the endpoint says what it wants.
  auto plain = as(a.token, "GET", "/api/v1/events");
  EXPECT_EQ(plain.status, 426);
}

// A socket lives no longer than what opened it: sign-out closes the sockets
// of that session (not the others), and rotating the API token closes those
// opened with the token (header or ?access_token=). The close code is 4401;
// the deadline of read() is the bound, an event, not a sleep.
TEST_F(live_events, sockets_close_when_their_credentials_are_revoked) {
  auto origin = "http://127.0.0.1:" + std::to_string(port);
  ws_client by_cookie(port, "/api/v1/events",
                      {{"cookie", cookie}, {"origin", origin}});
  ASSERT_TRUE(by_cookie.ok()) << by_cookie.status();
  ASSERT_EQ(by_cookie.read(), R"({"type":"ready"})");
  auto by_header = open("/api/v1/events", a.token);
  ws_client by_query(port, "/api/v1/events?access_token=" + a.token);
  ASSERT_TRUE(by_query.ok());
  ASSERT_EQ(by_query.read(), R"({"type":"ready"})");

  // Sign-out: the cookie's socket closes; the token's stay.
  auto out = call("DELETE", "/api/v1/session", {},
                  {{"cookie", cookie}, {"x-csrf-token", csrf}});
  ASSERT_EQ(out.status, 204) << out.body;
  EXPECT_FALSE(by_cookie.read(std::chrono::seconds(5)).has_value());
  EXPECT_TRUE(by_cookie.closed());
  EXPECT_EQ(by_cookie.close_code(), 4401);
  subscribe(a, R"({"email":"still@example.com"})");
  EXPECT_TRUE(by_header->read_until("still@example.com").has_value());
  EXPECT_TRUE(by_query.read_until("still@example.com").has_value());

  // Rotation: both token sockets close.
  auto rotated = as(a.token, "POST", "/api/v1/me/api-token");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  for (auto* ws : {by_header.get(), &by_query}) {
    EXPECT_FALSE(ws->read_until("never", std::chrono::seconds(5)).has_value());
    EXPECT_TRUE(ws->closed());
    EXPECT_EQ(ws->close_code(), 4401);
  }
  // The new token opens a socket as before.
  a.token = str(rotated.json()["api_token"]);
  auto fresh = open("/api/v1/events", a.token);
  subscribe(a, R"({"email":"after@example.com"})");
  EXPECT_TRUE(fresh->read_until("after@example.com").has_value());
}

namespace {

class no_admin : public mailchimp_connect {};

} // namespace

TEST_F(no_admin, the_admin_socket_is_off_without_a_token) {
  ws_client ws(port, "/admin/events", {{"authorization", "Bearer x"}});
  EXPECT_EQ(ws.status(), 404u);
}
