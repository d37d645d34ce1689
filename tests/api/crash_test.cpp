// kill -9 during a burst of subscribes: every subscribe that got its 201 is
// there afterwards.
#include "fixture.hpp"
#include "process.hpp"

#include <atomic>
#include <fstream>
#include <mutex>
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
  std::vector<std::string> acknowledged; // subscriber ids that got 201
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
          auto r = send(port, "POST", "/api/v1/public/crash/subscribe",
                        R"({"email":"w)" + std::to_string(w) + "n" +
                            std::to_string(i) + R"(@example.com"})");
          if (r.status == 201) {
            std::lock_guard g{mutex};
            acknowledged.push_back(
                std::string{r.json()["subscriber_id"].get_string().value()});
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
  size_t missing = 0;
  for (auto& id : acknowledged)
    if (send(again.port(), "GET", "/api/v1/subscribers/" + id, {},
             {{"authorization", "Bearer " + token}})
            .status != 200)
      ++missing;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  EXPECT_EQ(again.terminate(), 0) << "SIGTERM must end the service cleanly";
  std::filesystem::remove_all(dir);
}
