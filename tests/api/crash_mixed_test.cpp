// kill -9 at random moments under mixed load: subscribes, Mailchimp syncs
// against the standalone simulator, and webhook deliveries to a receiver.
// After every restart: the store opens, no acknowledged subscriber is missing,
// and every job is in a state it may be in, with counts that add up. At the
// end, with the service left running: every job COMPLETED, the audience holds
// every subscriber with an email exactly once, and the receiver got an event
// for every acknowledged subscribe and every completed job.
//
// CI runs a few kills; `scripts/crash KILLS` runs many (LS_CRASH_KILLS,
// LS_CRASH_SEED).
#include "live_sim.hpp"
#include "receiver.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

using namespace ls::test;
using namespace std::chrono_literals;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
  auto* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

/// What the service acknowledged (and so must never lose).
struct ledger {
  std::mutex mu;
  /// subscriber id → its email, or its phone for a phone-only signup
  std::map<std::string, std::string> subscribers;
  std::vector<std::string> jobs;
  std::set<std::string> finished_jobs; ///< seen COMPLETED
  size_t resumed_midway = 0; ///< restarts that found a job part-way through
};

/// The email and phone cells of a CSV export (the first two columns; the
/// values we send need no quoting).
std::set<std::string> exported_keys(const std::string& csv, size_t* rows) {
  std::set<std::string> keys;
  std::istringstream in{csv};
  std::string line;
  std::getline(in, line); // header
  size_t n = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++n;
    auto comma = line.find(',');
    auto email = line.substr(0, comma);
    auto rest = line.substr(comma + 1);
    auto phone = rest.substr(0, rest.find(','));
    if (!phone.empty() && phone[0] == '\'') phone.erase(0, 1); // neutralised +
    if (!email.empty()) keys.insert(email);
    if (!phone.empty()) keys.insert(phone);
  }
  if (rows) *rows = n;
  return keys;
}

/// A phone number nobody else gets: UK mobile numbers (+44 74…) with `n` in
/// the last eight digits.
std::string unique_phone(uint64_t n) {
  auto digits = std::to_string(n % 100000000);
  return "+4474" + std::string(8 - digits.size(), '0') + digits;
}

/// The whole-list CSV export; on failure `why` says how far it got.
std::optional<std::string> export_csv(uint16_t port, const headers& auth,
                                      std::string& why) {
  ls::http::test::client c{port};
  if (!c.connected()) {
    why = "cannot connect";
    return std::nullopt;
  }
  std::string raw = "GET /api/v1/exports/subscribers.csv HTTP/1.1\r\n"
                    "host: 127.0.0.1\r\nconnection: close\r\n";
  for (auto& [k, v] : auth)
    raw += k + ": " + v + "\r\n";
  if (!c.send(raw + "\r\n")) {
    why = "the request could not be sent";
    return std::nullopt;
  }
  auto head = c.read_head(30000ms);
  if (!head) {
    why = std::string{"no response head ("} +
          (c.eof() ? "the connection was closed" : "timed out") + ")";
    return std::nullopt;
  }
  if (head->status != 200 || !head->chunked) {
    why = "answered " + std::to_string(head->status);
    return std::nullopt;
  }
  std::string body;
  for (;;) {
    auto chunk = c.read_chunk(30000ms);
    if (!chunk) {
      why = "the stream stopped after " + std::to_string(body.size()) +
            " bytes (" + (c.eof() ? "closed" : "timed out") + ")";
      return std::nullopt;
    }
    if (chunk->empty()) return body;
    body += *chunk;
  }
}

struct progress_counts {
  uint64_t total, processed, created, updated, skipped;
};

progress_counts counts_of(const json_doc& job) {
  auto p = job["progress"];
  return {uint64_t(p["total"]), uint64_t(p["processed"]),
          uint64_t(p["created"]), uint64_t(p["updated"]),
          uint64_t(p["skipped"])};
}

class crash_mixed : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(sim.port(), 0) << sim.process.log();
    config =
        sim.write_config(dir, "[webhooks]\nallow_private_targets = true\n");
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir);
  }

  /// The checks after a restart; `kill` numbers the restart for messages.
  void check_restarted(uint16_t port, uint64_t kill) {
    ASSERT_EQ(send(port, "GET", "/healthz").status, 200)
        << "after kill " << kill;
    std::string why;
    auto started = std::chrono::steady_clock::now();
    auto csv = export_csv(port, bearer, why);
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(csv)
        << "after kill " << kill << ": the CSV export: " << why << " (after "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms)";
    slowest_export = std::max(slowest_export, took);
    auto keys = exported_keys(*csv, nullptr);
    std::lock_guard g{book.mu};
    size_t missing = 0;
    for (auto& [id, key] : book.subscribers)
      if (!keys.count(key) && ++missing <= 3)
        ADD_FAILURE() << "after kill " << kill << ": acknowledged subscriber "
                      << id << " (" << key << ") is gone";
    ASSERT_EQ(missing, 0u) << "after kill " << kill;
    for (auto& id : book.jobs) {
      if (book.finished_jobs.count(id)) continue;
      auto r = send(port, "GET", "/api/v1/sync-jobs/" + id, {}, bearer);
      ASSERT_EQ(r.status, 200) << "after kill " << kill << ": job " << id;
      auto job = r.json();
      auto status = str(job["status"]);
      ASSERT_TRUE(status == "PENDING" || status == "RUNNING" ||
                  status == "COMPLETED")
          << "after kill " << kill << ": job " << id << " is " << status << ": "
          << r.body;
      auto c = counts_of(job);
      ASSERT_EQ(c.processed, c.created + c.updated + c.skipped)
          << "after kill " << kill << ": " << r.body;
      ASSERT_LE(c.processed, c.total)
          << "after kill " << kill << ": " << r.body;
      if (status == "COMPLETED") {
        ASSERT_EQ(c.processed, c.total) << r.body;
        book.finished_jobs.insert(id);
      } else if (c.processed > 0) {
        ++book.resumed_midway;
      }
    }
  }

  /// Load until the kill: a sync job now and then, and two subscribers.
  void load_and_kill(server_process& server, uint64_t kill) {
    auto port = server.port();
    size_t unfinished = 0;
    {
      std::lock_guard g{book.mu};
      unfinished = book.jobs.size() - book.finished_jobs.size();
    }
    if (unfinished < 2 && rng() % 2 == 0) {
      auto r =
          send(port, "POST", "/api/v1/sync-jobs",
               R"({"provider":"mailchimp","scope":{"type":"all"}})", bearer);
      if (r.status == 202) {
        std::lock_guard g{book.mu};
        book.jobs.push_back(str(r.json()["id"]));
      } else {
        ASSERT_EQ(r.status, 0) << r.body; // only a dead server may not answer
      }
    }
    // The kill comes after a random number of this round's answers (none to
    // all 50): in the middle of a burst, with a sync and webhook deliveries
    // going on behind it.
    auto kill_after = rng() % 51;
    std::mutex m;
    std::condition_variable cv;
    size_t answered = 0, done = 0;
    std::atomic<bool> gone{false};
    std::vector<std::thread> writers;
    for (uint64_t w = 0; w < 2; ++w)
      writers.emplace_back([&, w] {
        for (uint64_t i = 0; i < 25 && !gone; ++i) {
          auto n = (kill * 2 + w) * 25 + i;
          bool phone_only = n % 8 == 7;
          auto key = phone_only ? unique_phone(n)
                                : "fan" + std::to_string(n) + "@gmail.com";
          auto r = send(port, "POST", "/api/v1/public/maker/subscribe",
                        phone_only ? R"({"phone":")" + key + "\"}"
                                   : R"({"email":")" + key + "\"}");
          if (r.status == 202) {
            // The public answer names no id: the book keys by the address.
            std::lock_guard g{book.mu};
            book.subscribers[key] = key;
          } else if (r.status == 0) {
            gone = true;
          } else {
            ADD_FAILURE() << "subscribe " << key << ": " << r.status << " "
                          << r.body;
            break;
          }
          std::lock_guard g{m};
          ++answered;
          cv.notify_all();
        }
        std::lock_guard g{m};
        ++done;
        cv.notify_all();
      });
    bool reached;
    {
      std::unique_lock lk{m};
      reached = cv.wait_for(lk, 60s, [&] {
        return answered >= kill_after || done == writers.size();
      });
    }
    server.kill9();
    for (auto& t : writers)
      t.join();
    ASSERT_TRUE(reached) << "the subscribes stalled before the kill";
  }

  std::string dir = temp_dir("crashmix");
  live_sim sim{20};
  receiver in;
  std::string config;
  headers bearer;
  ledger book;
  std::mt19937_64 rng;
  /// For the summary (not a check: a restart may find a sync to resume).
  std::chrono::steady_clock::duration slowest_export{};
};

} // namespace

TEST_F(crash_mixed, kill_9_at_random_moments_loses_nothing) {
  auto kills = env_number("LS_CRASH_KILLS", 8);
  auto seed = env_number("LS_CRASH_SEED", std::random_device{}());
  rng.seed(seed);
  std::cout << "[crash] " << kills << " kills, seed " << seed
            << " (LS_CRASH_SEED to repeat)" << std::endl;
  {
    server_process first{config};
    ASSERT_NE(first.port(), 0) << first.log();
    auto token = sim.connect_account(first.port(), "maker");
    ASSERT_FALSE(token.empty());
    bearer = {{"authorization", "Bearer " + token}};
    ASSERT_EQ(send(first.port(), "PUT", "/api/v1/integrations/webhook",
                   R"({"url":")" + in.url() + "\"}", bearer)
                  .status,
              201);
    ASSERT_NO_FATAL_FAILURE(load_and_kill(first, 0));
  }
  for (uint64_t kill = 1; kill <= kills; ++kill) {
    server_process server{config};
    ASSERT_NE(server.port(), 0)
        << "the service did not start after kill " << kill << "\n"
        << server.log();
    ASSERT_NO_FATAL_FAILURE(check_restarted(server.port(), kill))
        << server.report();
    if (kill < kills) {
      ASSERT_NO_FATAL_FAILURE(load_and_kill(server, kill)) << server.report();
    }
    if (kill % 50 == 0) {
      std::lock_guard g{book.mu};
      std::cout << "[crash] " << kill << " kills: " << book.subscribers.size()
                << " acknowledged subscribes, " << book.jobs.size() << " jobs"
                << std::endl;
    }
    if (kill < kills) continue;

    // The last start: no more kills. Every job ends COMPLETED.
    auto port = server.port();
    for (auto& id : book.jobs) {
      json_doc job;
      ASSERT_TRUE(ls::http::test::wait_until(
          [&] {
            job =
                send(port, "GET", "/api/v1/sync-jobs/" + id, {}, bearer).json();
            auto s = str(job["status"]);
            return s != "PENDING" && s != "RUNNING";
          },
          120s))
          << "job " << id << " did not end";
      ASSERT_EQ(str(job["status"]), "COMPLETED") << id;
      auto c = counts_of(job);
      EXPECT_EQ(c.processed, c.total) << id;
      EXPECT_EQ(c.total, c.created + c.updated + c.skipped) << id;
    }
    // One more sync takes in what came after the last one started; then the
    // audience is exactly the subscribers with an email.
    auto last =
        send(port, "POST", "/api/v1/sync-jobs",
             R"({"provider":"mailchimp","scope":{"type":"all"}})", bearer);
    ASSERT_EQ(last.status, 202) << last.body;
    auto last_id = str(last.json()["id"]);
    book.jobs.push_back(last_id);
    ASSERT_TRUE(ls::http::test::wait_until(
        [&] {
          return str(send(port, "GET", "/api/v1/sync-jobs/" + last_id, {},
                          bearer)
                         .json()["status"]) == "COMPLETED";
        },
        120s));
    std::string why;
    auto csv = export_csv(port, bearer, why);
    ASSERT_TRUE(csv) << "the last CSV export: " << why;
    size_t rows = 0;
    auto stored = exported_keys(*csv, &rows);
    std::set<std::string> stored_emails;
    for (auto& k : stored)
      if (k.find('@') != std::string::npos) stored_emails.insert(k);
    size_t members = 0;
    auto audience = sim.audience(&members);
    EXPECT_EQ(members, audience.size()) << "a member is in the audience twice";
    EXPECT_EQ(audience, stored_emails);
    for (auto& [id, key] : book.subscribers) {
      if (key.find('@') != std::string::npos) {
        EXPECT_TRUE(audience.count(key)) << key << " is not in the audience";
      }
    }

    // Every acknowledged subscribe and every job reached the webhook (at
    // least once: a delivery on the wire at a kill goes again).
    std::set<std::string> subscriber_events, job_events;
    size_t deliveries = 0;
    auto arrived = [&] {
      for (auto& r : in.since(deliveries)) {
        ++deliveries;
        auto body = json_doc::parse(r.body);
        auto type = str(body["type"]);
        auto id = str(body["data"]["id"]);
        if (type == "subscriber.created" || type == "subscriber.updated") {
          std::string_view address;
          if (!body["data"]["email"].get(address) ||
              !body["data"]["phone"].get(address))
            subscriber_events.insert(std::string{address});
        } else if (type == "sync_job.completed") {
          job_events.insert(id);
        }
      }
      for (auto& [id, key] : book.subscribers)
        if (!subscriber_events.count(id)) return false;
      for (auto& id : book.jobs)
        if (!job_events.count(id)) return false;
      return true;
    };
    // A backlog drains at the pump's pace: wait as long as deliveries keep
    // coming, and fail once 30 s pass without one.
    bool all_arrived = false;
    auto drain_started = std::chrono::steady_clock::now();
    for (;;) {
      auto before = deliveries;
      all_arrived = ls::http::test::wait_until(arrived, 30s);
      if (all_arrived || deliveries == before) break;
    }
    auto drained_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - drain_started)
                         .count();
    size_t lost_subscribers = 0, lost_jobs = 0;
    for (auto& [id, key] : book.subscribers)
      lost_subscribers += !subscriber_events.count(id);
    for (auto& id : book.jobs)
      lost_jobs += !job_events.count(id);
    EXPECT_TRUE(all_arrived) << lost_subscribers << " subscriber events and "
                             << lost_jobs << " job events never arrived";
    std::cout << "[crash] " << kills << " kills (seed " << seed
              << "): " << book.subscribers.size()
              << " acknowledged subscribes, " << rows << " stored, "
              << audience.size() << " in the audience; " << book.jobs.size()
              << " sync jobs, all COMPLETED, " << book.resumed_midway
              << " times resumed part-way through; the slowest export after a "
              << "restart took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     slowest_export)
                     .count()
              << " ms; " << deliveries << " webhook deliveries received for "
              << subscriber_events.size() + job_events.size()
              << " events (the backlog left at the end took " << drained_s
              << " s to drain); lost: " << lost_subscribers
              << " subscriber and " << lost_jobs << " job events" << std::endl;
    EXPECT_EQ(server.terminate(), 0);
  }
}
