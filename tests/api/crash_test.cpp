// kill -9 during a burst of subscribes: every subscribe that got its 202 is
// there afterwards.
#include "fixture.hpp"
#include "process.hpp"

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

std::string write_config(const std::string& dir) {
  auto path = dir + "/test.toml";
  std::ofstream f{path};
  f << "[server]\nlisten = \"127.0.0.1:0\"\n"
    << "[storage]\npath = \"" << dir << "/data\"\n"
    << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
    << "[ratelimit]\nsubscribe_per_ip = 0\nsubscribe_per_handle = 0\n"
    << "[mailchimp]\nsandbox_listen = \"127.0.0.1:0\"\n"
    << "[log]\nlevel = \"info\"\n";
  return path;
}

} // namespace

TEST(crash, every_acknowledged_subscribe_survives_kill_9) {
  auto dir = temp_dir("crash");
  auto config = write_config(dir);
  std::string token;
  std::mutex mutex;
  std::vector<std::string> acknowledged; // emails whose subscribe got 202
  {
    server_process server{config};
    ASSERT_NE(server.port(), 0) << server.log();
    auto port = server.port();
    auto signup = send(
        port, "POST", "/api/v1/accounts",
        R"({"email":"crash@example.org","password":"correct horse","handle":"crash"})");
    ASSERT_EQ(signup.status, 201) << signup.body;
    token = str(signup.json()["api_token"]);

    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          auto email = "w" + std::to_string(w) + "n" + std::to_string(i) +
                       "@example.com";
          auto r = send(port, "POST", "/api/v1/public/crash/subscribe",
                        R"({"email":")" + email + "\"}");
          if (r.status == 202) {
            std::lock_guard g{mutex};
            acknowledged.push_back(email);
          } else if (r.status == 0) {
            return; // the server is gone
          }
        }
      });
    // Kill once a good number of writes are acknowledged, while the writers are
    // mid-burst.
    auto enough = ls::http::test::wait_until(
        [&] {
          std::lock_guard g{mutex};
          return acknowledged.size() >= 300;
        },
        60000ms);
    server.kill9();
    stop = true;
    for (auto& t : writers)
      t.join();
    ASSERT_TRUE(enough) << "the burst did not get going";
  }
  server_process again{config};
  ASSERT_NE(again.port(), 0) << again.log();
  std::set<std::string> stored;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = send(again.port(), "GET",
                  "/api/v1/subscribers?limit=500" +
                      (cursor.empty() ? "" : "&cursor=" + cursor),
                  {}, {{"authorization", "Bearer " + token}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    for (auto item : simdjson::dom::array(j["items"]))
      stored.insert(str(item["email"]));
    if (j["next_cursor"].is_null()) break;
    cursor = str(j["next_cursor"]);
  }
  size_t missing = 0;
  for (auto& email : acknowledged)
    missing += !stored.count(email);
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  EXPECT_EQ(again.terminate(), 0) << "SIGTERM must end the service cleanly";
  std::filesystem::remove_all(dir);
}
