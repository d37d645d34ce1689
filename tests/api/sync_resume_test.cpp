// kill -9 in the middle of a sync: after a restart the job resumes from its
// checkpoint, ends COMPLETED with consistent counts, and Mailchimp holds every
// eligible subscriber once.
#include "mailchimp_fixture.hpp"
#include "process.hpp"

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

TEST(sync_resume, a_killed_sync_resumes_and_completes) {
  auto dir = temp_dir("resume");
  child_process sim{{std::string{LS_BINARY_DIR} + "/mailchimp-sim", "--listen",
                     "127.0.0.1:0", "--empty", "--latency-ms", "80"},
                    R"(listening on http://127\.0\.0\.1:(\d+))"};
  ASSERT_NE(sim.port(), 0) << sim.log();
  auto sp = sim.port();
  auto base = "http://127.0.0.1:" + std::to_string(sp);
  ASSERT_EQ(
      send(sp, "POST", "/_sim/apps",
           R"({"client_id":"live-app","client_secret":"live-secret-0123456789",
                     "redirect_uris":["http://localhost:3000/dashboard/email-collection"]})")
          .status,
      201);
  ASSERT_EQ(send(sp, "POST", "/_sim/users", R"({"login":"creator","dc":"us7"})")
                .status,
            201);
  auto list =
      send(sp, "POST", "/_sim/lists", R"({"user":"creator","name":"Fans"})");
  auto list_id = str(list.json()["id"]);

  auto config = dir + "/test.toml";
  {
    std::ofstream f{config};
    f << "[server]\nlisten = \"127.0.0.1:0\"\n"
      << "[storage]\npath = \"" << dir << "/data\"\n"
      << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
      << "[ratelimit]\nsubscribe_per_ip = 0\nsubscribe_per_handle = 0\n"
      << "[mailchimp]\nmode = \"live\"\nclient_id = \"live-app\"\n"
      << "client_secret = \"live-secret-0123456789\"\n"
      << "oauth_base_url = \"" << base << "\"\napi_base_url = \"" << base
      << "/3.0\"\n"
      << "batch_size = 50\nmax_connections = 2\n"
      << "[log]\nlevel = \"info\"\n";
  }
  auto start = [&] {
    return std::make_unique<child_process>(
        std::vector<std::string>{std::string{LS_BINARY_DIR} + "/linkstacked",
                                 "serve", "--config", config},
        R"(\(port (\d+),)");
  };
  auto server = start();
  ASSERT_NE(server->port(), 0) << server->log();
  auto port = server->port();
  auto signup = send(
      port, "POST", "/api/v1/accounts",
      R"({"email":"maker@gmail.com","password":"correct horse","handle":"maker"})");
  ASSERT_EQ(signup.status, 201);
  auto token = str(signup.json()["api_token"]);
  auto login =
      send(port, "POST", "/api/v1/session",
           R"({"email":"maker@gmail.com","password":"correct horse"})");
  auto set = login.header("set-cookie");
  headers browser{{"cookie", set.substr(0, set.find(';'))},
                  {"host", "localhost:3000"}};
  // Connect through the simulator's approve form.
  auto to_mailchimp = split(
      send(port, "GET", "/api/v1/integrations/mailchimp/connect", {}, browser)
          .header("location"));
  auto back = send(
      sp, "POST", "/oauth2/authorize",
      "response_type=code&client_id=live-app&redirect_uri=" +
          ls::form::percent_encode(to_mailchimp.param("redirect_uri")) +
          "&state=" + ls::form::percent_encode(to_mailchimp.param("state")) +
          "&decision=allow",
      {{"content-type", "application/x-www-form-urlencoded"}});
  auto done =
      send(port, "GET", split(back.header("location")).target, {}, browser);
  ASSERT_EQ(done.header("location"),
            "/dashboard/email-collection?mailchimp=connected");
  auto bearer = headers{{"authorization", "Bearer " + token}};
  ASSERT_EQ(send(port, "PUT", "/api/v1/integrations/mailchimp/audience",
                 R"({"audience_id":")" + list_id + "\"}", bearer)
                .status,
            200);

  // 1,000 fans: 20 batches of 50, two at a time, 80 ms each.
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 250; ++i)
        if (send(port, "POST", "/api/v1/public/maker/subscribe",
                 R"({"email":"fan)" + std::to_string(w) + "x" +
                     std::to_string(i) + R"(@gmail.com"})")
                .status == 201)
          ++ok;
    });
  for (auto& t : writers)
    t.join();
  ASSERT_EQ(ok, 1000);
  auto job = send(port, "POST", "/api/v1/sync-jobs",
                  R"({"provider":"mailchimp","scope":{"type":"all"}})", bearer);
  ASSERT_EQ(job.status, 202) << job.body;
  auto id = str(job.json()["id"]);
  // Kill once some batches are checkpointed, well before the end.
  uint64_t processed_at_kill = 0;
  ASSERT_TRUE(ls::http::test::wait_until(
      [&] {
        auto j =
            send(port, "GET", "/api/v1/sync-jobs/" + id, {}, bearer).json();
        processed_at_kill = uint64_t(j["progress"]["processed"]);
        return processed_at_kill >= 100;
      },
      20000ms));
  server->kill9();
  EXPECT_LT(processed_at_kill, 1000u) << "the sync ended before the kill";

  server = start();
  ASSERT_NE(server->port(), 0) << server->log();
  port = server->port();
  json_doc final_job;
  ASSERT_TRUE(ls::http::test::wait_until(
      [&] {
        final_job =
            send(port, "GET", "/api/v1/sync-jobs/" + id, {}, bearer).json();
        return str(final_job["status"]) == "COMPLETED" ||
               str(final_job["status"]) == "FAILED";
      },
      30000ms));
  ASSERT_EQ(str(final_job["status"]), "COMPLETED")
      << str(final_job["error"]["message"]);
  auto p = final_job["progress"];
  EXPECT_EQ(uint64_t(p["total"]), 1000u);
  EXPECT_EQ(uint64_t(p["total"]), uint64_t(p["created"]) +
                                      uint64_t(p["updated"]) +
                                      uint64_t(p["skipped"]));
  auto members = send(sp, "GET", "/_sim/lists/" + list_id + "/members");
  auto mj = members.json();
  std::set<std::string> emails;
  size_t count = 0;
  for (auto m : simdjson::dom::array(mj["members"])) {
    emails.insert(str(m["email_address"]));
    ++count;
  }
  EXPECT_EQ(count, 1000u);
  EXPECT_EQ(emails.size(), 1000u);
  EXPECT_EQ(server->terminate(), 0);
  std::filesystem::remove_all(dir);
}
