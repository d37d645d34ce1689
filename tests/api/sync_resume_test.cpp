// kill -9 in the middle of a sync: after a restart the job resumes from its
// checkpoint, ends COMPLETED with consistent counts, and Mailchimp holds every
// eligible subscriber once.
#include "live_sim.hpp"

#include <atomic>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

TEST(sync_resume, a_killed_sync_resumes_and_completes) {
  auto dir = temp_dir("resume");
  live_sim sim{80};
  ASSERT_NE(sim.port(), 0) << sim.process.log();
  auto config = sim.write_config(dir);
  auto start = [&] { return std::make_unique<server_process>(config); };
  auto server = start();
  ASSERT_NE(server->port(), 0) << server->log();
  auto port = server->port();
  auto token = sim.connect_account(port, "maker");
  ASSERT_FALSE(token.empty());
  auto bearer = headers{{"authorization", "Bearer " + token}};

  // 1,000 fans: 20 batches of 50, two at a time, 80 ms each.
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 250; ++i)
        if (send(port, "POST", "/api/v1/public/maker/subscribe",
                 R"({"email":"fan)" + std::to_string(w) + "x" +
                     std::to_string(i) + R"(@gmail.com"})")
                .status == 202)
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
  size_t count = 0;
  auto emails = sim.audience(&count);
  EXPECT_EQ(count, 1000u);
  EXPECT_EQ(emails.size(), 1000u);
  EXPECT_EQ(server->terminate(), 0);
  std::filesystem::remove_all(dir);
}
