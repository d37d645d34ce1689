// The STORE actor: group commit, per-change outcomes, failures that must not
// kill it, and map growth on MDB_MAP_FULL. Deterministic (test_coordinator)
// plus one threaded smoke test.
#include "actors/metrics.hpp"
#include "actors/store.hpp"
#include "storage/crypto.hpp"
#include "storage/test_temp_dir.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <cmath>
#include <gtest/gtest.h>
#include <memory>
#include <set>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace ls;
using store::outcome;

/// The value of an unlabelled metric line `name value` in a Prometheus text
/// rendering.
double metric_value(const std::string& text, const std::string& name) {
  auto key = "\n" + name + " ";
  auto pos = text.find(key);
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + key.size()));
}

/// A change that writes a session under `key` and notes the LMDB transaction it
/// ran in.
store::write_op_ptr put_session_op(std::string key, std::string token = "csrf",
                                   std::vector<size_t>* txn_ids = nullptr,
                                   int* applies = nullptr) {
  return store::make_op([=](store::database& db, lmdb::txn& t) {
    if (txn_ids) txn_ids->push_back(mdb_txn_id(t.handle()));
    if (applies) ++*applies;
    store::session s{"acc_x", token, 1, 2};
    return db.put_session(t, key, s);
  });
}

class store_test : public ::testing::Test {
protected:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::ls>();
    return cfg;
  }

  store_test()
      : sys(init(cfg)), self(sys, true),
        sched(
            dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    crypto::init();
  }

  ~store_test() override {
    if (store) caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start(uint64_t map_size = 64 << 20) {
    db = std::make_shared<store::database>(dir.sub("db"), map_size);
    stats = std::make_shared<metrics>();
    store = sys.spawn(store_impl, db, stats);
    sched.run();
  }

  auto write(store::write_op_ptr op) {
    return self->request(store, caf::infinite, atom::write_v, std::move(op));
  }

  /// The reply to `h`, which must already be in the mailbox (so this never
  /// blocks).
  template <class Handle>
  outcome reply(Handle& h) {
    outcome out = outcome::fail(outcome::storage, "no reply received");
    if (self->mailbox().size() == 0) {
      ADD_FAILURE() << "no reply waiting";
      return out;
    }
    h.receive([&](outcome& o) { out = std::move(o); },
              [&](caf::error& e) {
                ADD_FAILURE() << "error reply: " << caf::to_string(e);
              });
    return out;
  }

  health_report health() {
    auto h = self->request(store, caf::infinite, atom::health_v);
    sched.run();
    health_report out;
    if (self->mailbox().size() == 0) {
      ADD_FAILURE() << "no health reply";
      return out;
    }
    h.receive([&](health_report& r) { out = r; },
              [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  }

  bool has_session(const std::string& key) {
    return db->session_by_hash(key).has_value();
  }

  test::temp_dir dir; // outlives the actor system
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<store::database> db;
  std::shared_ptr<metrics> stats;
  store_actor store;
};

TEST_F(store_test, writes_queued_together_commit_in_one_transaction) {
  start();
  std::vector<size_t> txn_ids;
  std::vector<decltype(write(nullptr))> handles;
  for (int i = 0; i < 5; ++i)
    handles.push_back(
        write(put_session_op("k" + std::to_string(i), "csrf", &txn_ids)));
  EXPECT_EQ(stats->commits(), 0u); // nothing ran yet
  EXPECT_EQ(self->mailbox().size(), 0u);
  EXPECT_FALSE(has_session("k0"));
  // Run the STORE one message at a time: no reply leaves before the commit.
  size_t steps = 0;
  while (stats->commits() == 0) {
    ASSERT_TRUE(sched.try_run_once()) << "no commit after " << steps;
    ++steps;
    if (stats->commits() == 0) {
      EXPECT_EQ(self->mailbox().size(), 0u) << "a reply before the commit";
    }
  }
  EXPECT_EQ(steps, 6u) << "5 writes, then the flush";
  sched.run();
  EXPECT_EQ(stats->commits(), 1u);
  EXPECT_EQ(self->mailbox().size(), 5u);
  ASSERT_EQ(txn_ids.size(), 5u);
  EXPECT_EQ(std::set<size_t>(txn_ids.begin(), txn_ids.end()).size(), 1u)
      << "every change of the batch ran in the same transaction";
  for (auto& h : handles) {
    auto r = reply(h);
    EXPECT_TRUE(r) << r.message;
  }
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(has_session("k" + std::to_string(i))) << i;
  auto report = health();
  EXPECT_TRUE(report.storage_ok);
  EXPECT_EQ(report.commits, 1u);
  // The batch size was recorded.
  auto text = stats->render();
  EXPECT_EQ(metric_value(text, "linkstacked_store_commits_total"), 1);
  EXPECT_EQ(metric_value(text, "linkstacked_store_batch_size_sum"), 5);
  EXPECT_EQ(metric_value(text, "linkstacked_store_batch_size_count"), 1);
}

TEST_F(store_test, writes_after_a_flush_make_a_new_commit) {
  start();
  auto h1 = write(put_session_op("a"));
  sched.run();
  EXPECT_TRUE(reply(h1));
  auto h2 = write(put_session_op("b"));
  auto h3 = write(put_session_op("c"));
  sched.run();
  EXPECT_TRUE(reply(h2));
  EXPECT_TRUE(reply(h3));
  EXPECT_EQ(stats->commits(), 2u);
  EXPECT_EQ(health().commits, 2u);
  EXPECT_TRUE(has_session("a"));
  EXPECT_TRUE(has_session("c"));
}

TEST_F(store_test, health_without_writes) {
  start();
  auto report = health();
  EXPECT_TRUE(report.storage_ok);
  EXPECT_EQ(report.commits, 0u);
}

TEST_F(store_test, a_refused_change_does_not_affect_the_others) {
  start();
  auto make_account = [](std::string email, std::string handle) {
    store::account a;
    a.id = crypto::random_id("acc_");
    a.email = std::move(email);
    a.handle = std::move(handle);
    return a;
  };
  auto first = make_account("a@example.com", "alice");
  auto clash =
      make_account("c@example.com", "alice"); // handle taken by `first`
  auto third = make_account("d@example.com", "dora");
  auto insert = [](store::account a, std::string token) {
    return store::make_op([a, token](store::database& db, lmdb::txn& t) {
      return db.insert_account(t, a, token);
    });
  };
  auto h1 = write(insert(first, "t1"));
  auto h2 = write(insert(clash, "t2"));
  auto h3 = write(insert(third, "t3"));
  sched.run();
  EXPECT_EQ(stats->commits(), 1u);
  EXPECT_TRUE(reply(h1));
  auto r2 = reply(h2);
  EXPECT_EQ(r2.code, outcome::conflict);
  EXPECT_EQ(r2.field, "handle");
  EXPECT_TRUE(reply(h3));
  EXPECT_TRUE(db->account_by_id(first.id));
  EXPECT_TRUE(db->account_by_id(third.id));
  EXPECT_EQ(db->account_by_handle("dora")->id, third.id);
  // The refused change wrote nothing, not even the email index it set before
  // failing.
  EXPECT_FALSE(db->account_by_id(clash.id));
  EXPECT_FALSE(db->account_by_email("c@example.com"));
  EXPECT_FALSE(db->account_by_token_hash("t2"));
  EXPECT_EQ(db->account_by_handle("alice")->id, first.id);
}

TEST_F(store_test,
       a_throwing_change_gets_a_storage_outcome_and_the_actor_lives) {
  start();
  auto h1 = write(put_session_op("before"));
  auto h2 =
      write(store::make_op([](store::database& db, lmdb::txn& t) -> outcome {
        db.put_session(t, "half-done", store::session{});
        throw std::runtime_error("boom");
      }));
  auto h3 = write(store::make_op([](store::database&, lmdb::txn& t) -> outcome {
    t.put(0, std::string(4000, 'k'), "v"); // an lmdb::error (key too long)
    return {};
  }));
  auto h4 = write(put_session_op("after"));
  sched.run();
  EXPECT_TRUE(reply(h1));
  auto r2 = reply(h2);
  EXPECT_EQ(r2.code, outcome::storage);
  EXPECT_NE(r2.message.find("boom"), std::string::npos) << r2.message;
  auto r3 = reply(h3);
  EXPECT_EQ(r3.code, outcome::storage);
  EXPECT_TRUE(reply(h4));
  EXPECT_EQ(stats->commits(), 1u);
  EXPECT_TRUE(has_session("before"));
  EXPECT_TRUE(has_session("after"));
  EXPECT_FALSE(has_session("half-done")); // the throwing change was rolled back
  // Still alive and working.
  auto h5 = write(put_session_op("later"));
  sched.run();
  EXPECT_TRUE(reply(h5));
  EXPECT_TRUE(has_session("later"));
  auto report = health();
  EXPECT_TRUE(report.storage_ok);
  EXPECT_EQ(report.commits, 2u);
}

TEST_F(store_test, map_full_grows_the_map_and_the_batch_succeeds) {
  spdlog::set_level(spdlog::level::err); // the growth warning is expected here
  start(256 << 10);
  const auto initial = db->env().map_size();
  ASSERT_EQ(initial, uint64_t{256} << 10);
  const std::string big(64 << 10, 'x');
  int applies = 0;
  std::vector<decltype(write(nullptr))> handles;
  // 10 x 64 KiB needs more than 512 KiB: at least two doublings, so the retry
  // loop runs several times.
  for (int i = 0; i < 10; ++i)
    handles.push_back(write(
        put_session_op("big" + std::to_string(i), big, nullptr, &applies)));
  // A conflict in the same batch keeps its outcome through the retries.
  store::account a;
  a.id = crypto::random_id("acc_");
  a.email = "dup@example.com";
  a.handle = "dup";
  auto insert = [a](std::string token) {
    return store::make_op([a, token](store::database& db, lmdb::txn& t) {
      return db.insert_account(t, a, token);
    });
  };
  auto ok_insert = write(insert("tok1"));
  auto dup_insert = write(insert("tok2"));
  sched.run();
  spdlog::set_level(spdlog::level::info);

  for (auto& h : handles) {
    auto r = reply(h);
    EXPECT_TRUE(r) << r.message;
  }
  EXPECT_TRUE(reply(ok_insert));
  EXPECT_EQ(reply(dup_insert).code, outcome::conflict);
  const auto grown = db->env().map_size();
  EXPECT_GT(grown, initial);
  EXPECT_GT(applies, 10) << "the batch ran again after the growth";
  // The map doubles per growth: the metric counts exactly those doublings.
  auto growths = std::log2(static_cast<double>(grown) / initial);
  auto text = stats->render();
  EXPECT_GE(metric_value(text, "linkstacked_store_map_growths_total"), 2);
  EXPECT_EQ(metric_value(text, "linkstacked_store_map_growths_total"), growths);
  EXPECT_EQ(stats->commits(), 1u);
  for (int i = 0; i < 10; ++i) {
    auto s = db->session_by_hash("big" + std::to_string(i));
    ASSERT_TRUE(s) << i;
    EXPECT_EQ(s->csrf_token.size(), big.size());
  }
  EXPECT_EQ(db->account_by_token_hash("tok1")->id, a.id);
  EXPECT_FALSE(db->account_by_token_hash("tok2"));
  EXPECT_TRUE(health().storage_ok);
}

TEST_F(store_test, works_without_metrics) {
  db = std::make_shared<store::database>(dir.sub("db"), 64 << 20);
  store = sys.spawn(store_impl, db, std::shared_ptr<metrics>{});
  sched.run();
  auto h = write(put_session_op("k"));
  sched.run();
  EXPECT_TRUE(reply(h));
  EXPECT_EQ(health().commits, 1u);
}

// -- the real, threaded scheduler
// -----------------------------------------------------------

TEST(store_threaded, smoke) {
  crypto::init();
  test::temp_dir dir;
  auto db = std::make_shared<store::database>(dir.sub("db"), 64 << 20);
  auto stats = std::make_shared<metrics>();
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.add_message_types<caf::id_block::ls>();
  caf::actor_system sys{cfg};
  auto store = sys.spawn<caf::detached>(store_impl, db, stats);
  {
    caf::scoped_actor self{sys};
    constexpr int n = 20;
    auto applied = std::make_shared<std::atomic<int>>(0);
    std::vector<decltype(self->request(store, caf::infinite, atom::write_v,
                                       store::write_op_ptr{}))>
        handles;
    for (int i = 0; i < n; ++i) {
      auto key = "k" + std::to_string(i);
      handles.push_back(self->request(
          store, std::chrono::seconds(10), atom::write_v,
          store::make_op([key, applied](store::database& d, lmdb::txn& t) {
            ++*applied;
            return d.put_session(t, key, store::session{"acc", key, 1, 2});
          })));
    }
    int ok = 0;
    for (auto& h : handles)
      h.receive([&](outcome& r) { ok += r ? 1 : 0; },
                [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    EXPECT_EQ(ok, n);
    EXPECT_EQ(applied->load(), n);
    self->request(store, std::chrono::seconds(10), atom::health_v)
        .receive(
            [&](health_report& r) {
              EXPECT_TRUE(r.storage_ok);
              EXPECT_GE(r.commits, 1u);
              EXPECT_LE(r.commits, static_cast<uint64_t>(n));
              EXPECT_EQ(r.commits, stats->commits());
            },
            [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    for (int i = 0; i < n; ++i) {
      auto s = db->session_by_hash("k" + std::to_string(i));
      ASSERT_TRUE(s) << i;
      EXPECT_EQ(s->csrf_token, "k" + std::to_string(i));
    }
  }
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
}

} // namespace
