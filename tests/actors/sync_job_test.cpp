// The JOB SUPERVISOR, SYNC JOB, MAPPER and FETCHER together on virtual time
// (test_coordinator): a fake wire holds every Mailchimp exchange until the test
// answers it, and backoffs only pass when the test moves the clock.
#include "actors/errors.hpp"
#include "actors/events.hpp"
#include "actors/integrations.hpp"
#include "actors/jobs.hpp"
#include "actors/store.hpp"
#include "storage/crypto.hpp"
#include "storage/test_temp_dir.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <deque>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace ls;
using namespace std::chrono_literals;

/// What the FETCHER put on the wire and nobody has answered yet.
struct wire {
  struct exchange {
    mc_call call;
    std::function<void(mc_reply)> done;
  };
  std::deque<exchange> open;
  std::vector<mc_call> sent; ///< every exchange, in order
};

transport fake_transport(std::shared_ptr<wire> net) {
  return [net](const mc_call& call, std::function<void(mc_reply)> done) {
    net->sent.push_back(call);
    net->open.push_back({call, std::move(done)});
  };
}

/// INTEGRATIONS as a sync job sees it: credentials, and 401 reports.
integrations_actor::behavior_type
mock_integrations(integrations_actor::pointer self, fetcher_actor fetcher,
                  std::shared_ptr<std::vector<std::string>> rejected,
                  std::shared_ptr<std::vector<caf::actor_addr>> askers) {
  auto unexpected = [](const char* what) {
    ADD_FAILURE() << "integrations: unexpected " << what;
  };
  return {
      [=](atom::connected, store::mailchimp_connection&) {
        unexpected("connected");
        return false;
      },
      [=](atom::audiences, std::string&) {
        unexpected("audiences");
        return audience_list{};
      },
      [=](atom::create, std::string&, std::string&) {
        unexpected("create");
        return mailchimp::audience{};
      },
      [=](atom::choose, std::string&, std::string&) {
        unexpected("choose");
        return mailchimp::audience{};
      },
      [=](atom::status, std::string&) {
        unexpected("status");
        return mailchimp_status{};
      },
      [=](atom::disconnect, std::string&) {
        unexpected("disconnect");
        return false;
      },
      [=](atom::rejected, std::string& account) {
        rejected->push_back(account);
      },
      [=](atom::call, std::string&) {
        unexpected("call");
        return fetcher;
      },
      [=](atom::credentials, std::string&) {
        askers->push_back(
            caf::actor_cast<caf::actor_addr>(self->current_sender()));
        return job_credentials{"token-1", "http://mc.test/3.0", "aud0000001",
                               "Fans", fetcher};
      },
  };
}

/// An EVENT SINK that keeps every event.
event_sink_actor::behavior_type
recording_sink(event_sink_actor::pointer,
               std::shared_ptr<std::vector<event>> seen) {
  return {
      [=](atom::publish, event& e) {
        seen->push_back(std::move(e));
        return true;
      },
  };
}

/// Mailchimp's answer to a batch: every member created.
mc_reply all_created(const mc_call& call) {
  size_t n = 0;
  for (auto pos = call.body.find("\"email_address\""); pos != std::string::npos;
       pos = call.body.find("\"email_address\"", pos + 1))
    ++n;
  return {
      200,
      R"({"new_members":[],"updated_members":[],"errors":[],"total_created":)" +
          std::to_string(n) + R"(,"total_updated":0,"error_count":0})",
      {}};
}

const mc_reply audience_ok{
    200,
    R"({"id":"aud0000001","name":"Fans","double_optin":false,"stats":{"member_count":0}})",
    {}};

class sync_job_test : public ::testing::Test {
protected:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::ls>();
    return cfg;
  }

  sync_job_test()
      : sys(init(cfg)), self(sys, true),
        sched(
            dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    crypto::init();
    db = std::make_shared<store::database>(dir.sub("db"), 64 << 20);
    store = sys.spawn(store_impl, db, nullptr);
    // The ceiling of every backoff: 1 s, 2 s, 4 s, …
    retries.base = 1s;
    retries.cap = 8s;
    retries.max_attempts = 3;
    retries.unit_random = [] { return 1.0; };
    mapper = sys.spawn(mapper_impl);
    bus = sys.spawn(event_bus_impl, event_bus_options{});
    sink = sys.spawn(recording_sink, events);
    sched.run();
    auto subscribed = self->request(bus, caf::infinite, atom::subscribe_v, sink,
                                    std::string{}, true);
    sched.run();
    subscribed.receive([](bool) {},
                       [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  }

  ~sync_job_test() override {
    auto stop = [](const auto& hdl) {
      if (hdl) caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    };
    stop(supervisor);
    stop(integrations);
    stop(fetcher);
    stop(mapper);
    stop(bus);
    stop(sink);
    stop(store);
    sched.run();
  }

  /// Starts the FETCHER, INTEGRATIONS and the SUPERVISOR: batches of
  /// `batch_size`, at most `in_flight` per job.
  void start(size_t batch_size = 2, size_t in_flight = 2) {
    fetcher = sys.spawn(fetcher_impl, fake_transport(net), size_t{9}, retries);
    integrations = sys.spawn(mock_integrations, fetcher, rejected, askers);
    jobs_config c;
    c.db = db;
    c.store = store;
    c.integrations = integrations;
    c.mapper = mapper;
    c.bus = bus;
    c.batch_size = batch_size;
    c.max_in_flight = in_flight;
    c.request_timeout = 30s;
    supervisor = sys.spawn(job_supervisor_impl, c);
    sched.run();
  }

  /// Stores `n` subscribers with addresses s0@example.com, s1@…, oldest first.
  /// `n` subscribers, numbered from `first` (later numbers sign up later).
  void seed(int n, int first = 0) {
    auto t = lmdb::txn::write(db->env());
    for (int i = first; i < first + n; ++i) {
      store::subscriber s;
      s.id = crypto::random_id("sub_");
      s.account_id = account;
      s.email = "s" + std::to_string(i) + "@example.com";
      s.source = "form";
      s.subscribed_at = s.updated_at = 1000 + i;
      s.opt_in = {1000 + i, "192.0.2.1", "test-agent", ""};
      store::subscriber stored;
      bool created = false;
      ASSERT_TRUE(db->upsert_subscriber(t, s, stored, created));
    }
    t.commit();
  }

  /// Queues a job through the supervisor; its id.
  std::string create_job() {
    store::sync_job j;
    j.id = crypto::random_id("job_");
    j.account_id = account;
    j.provider = "mailchimp";
    j.created_at = 1;
    auto h = self->request(supervisor, caf::infinite, atom::create_v, j);
    sched.run();
    std::string id;
    h.receive([&](store::sync_job& created) { id = created.id; },
              [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return id;
  }

  /// Asks the supervisor to cancel or retry; the job it answers.
  template <class Atom>
  store::sync_job ask(Atom what, const std::string& id) {
    auto h = self->request(supervisor, caf::infinite, what, account, id);
    sched.run();
    store::sync_job out;
    h.receive([&](store::sync_job& j) { out = j; },
              [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return out;
  }

  store::sync_job job(const std::string& id) {
    auto j = db->job_by_id(account, id);
    EXPECT_TRUE(j.has_value());
    return j.value_or(store::sync_job{});
  }

  /// Answers the oldest open exchange and lets everything run.
  void answer(mc_reply r) {
    ASSERT_FALSE(net->open.empty()) << "nothing on the wire to answer";
    auto x = std::move(net->open.front());
    net->open.pop_front();
    x.done(std::move(r));
    sched.run();
  }
  void answer_batch() {
    ASSERT_FALSE(net->open.empty());
    answer(all_created(net->open.front().call));
  }

  /// The job statuses the event bus carried, in order, without repeats.
  std::vector<std::string> statuses_seen() {
    std::vector<std::string> out;
    for (auto& e : *events) {
      auto pos = e.object.find("\"status\":\"");
      if (pos == std::string::npos) continue;
      pos += 10;
      auto s = e.object.substr(pos, e.object.find('"', pos) - pos);
      if (out.empty() || out.back() != s) out.push_back(s);
    }
    return out;
  }

  test::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<store::database> db;
  store_actor store;
  retry_policy retries;
  std::shared_ptr<wire> net = std::make_shared<wire>();
  std::shared_ptr<std::vector<std::string>> rejected =
      std::make_shared<std::vector<std::string>>();
  /// Who asked INTEGRATIONS for credentials: the job actors, in order.
  std::shared_ptr<std::vector<caf::actor_addr>> askers =
      std::make_shared<std::vector<caf::actor_addr>>();
  std::shared_ptr<std::vector<event>> events =
      std::make_shared<std::vector<event>>();
  fetcher_actor fetcher;
  integrations_actor integrations;
  mapper_actor mapper;
  event_bus_actor bus;
  event_sink_actor sink;
  job_supervisor_actor supervisor;
  std::string account = "acc_" + std::string(crypto::id_random_chars, 'a');
};

TEST_F(sync_job_test, a_job_runs_to_completed_with_an_event_per_step) {
  seed(5);
  start();
  auto id = create_job();
  // First the audience is checked; nothing else goes out meanwhile.
  ASSERT_EQ(net->open.size(), 1u);
  EXPECT_EQ(net->open.front().call.method, "GET");
  EXPECT_NE(net->open.front().call.url.find("/lists/aud0000001"),
            std::string::npos);
  answer(audience_ok);
  EXPECT_EQ(job(id).status, "RUNNING");
  EXPECT_EQ(job(id).total, 5u);
  // Two batches in flight at most, then one more as each is answered.
  ASSERT_EQ(net->open.size(), 2u);
  answer_batch();
  ASSERT_EQ(net->open.size(), 2u);
  answer_batch();
  answer_batch();
  EXPECT_TRUE(net->open.empty());
  auto j = job(id);
  EXPECT_EQ(j.status, "COMPLETED");
  EXPECT_EQ(j.created, 5u);
  EXPECT_EQ(j.processed, 5u);
  EXPECT_EQ(j.cursor, "end");
  EXPECT_EQ(net->sent.size(), 4u); // the audience, then 2 + 2 + 1 members
  for (size_t i = 1; i < net->sent.size(); ++i) {
    EXPECT_EQ(net->sent[i].method, "POST");
    EXPECT_NE(net->sent[i].body.find("\"update_existing\":true"),
              std::string::npos);
  }
  EXPECT_EQ(statuses_seen(),
            (std::vector<std::string>{"PENDING", "RUNNING", "COMPLETED"}));
  // Progress went out too: one event per checkpoint at least.
  EXPECT_GE(events->size(), 5u);
  for (auto& e : *events) {
    EXPECT_EQ(e.type, "job.updated");
    EXPECT_EQ(e.account_id, account);
  }
}

TEST_F(sync_job_test, signups_during_the_sync_go_too_and_the_total_follows) {
  seed(4);
  start();
  auto id = create_job();
  answer(audience_ok);
  EXPECT_EQ(job(id).total, 4u);
  seed(3, 4); // three more sign up while the first batches are out
  answer_batch();
  answer_batch();
  auto mid = job(id);
  EXPECT_EQ(mid.processed, 4u);
  EXPECT_EQ(mid.total, 4u);
  answer_batch(); // two of the late ones: past the count made at the start
  mid = job(id);
  EXPECT_EQ(mid.processed, 6u);
  EXPECT_EQ(mid.total, 6u) << "progress past 100 %";
  answer_batch();
  EXPECT_TRUE(net->open.empty());
  auto j = job(id);
  EXPECT_EQ(j.status, "COMPLETED");
  EXPECT_EQ(j.processed, 7u);
  EXPECT_EQ(j.total, 7u);
  EXPECT_EQ(j.created, 7u);
}

TEST_F(sync_job_test,
       cancel_during_in_flight_lets_those_finish_and_sends_no_more) {
  seed(6);
  start();
  auto id = create_job();
  answer(audience_ok);
  ASSERT_EQ(net->open.size(), 2u);
  auto answered = ask(atom::cancel_v, id);
  EXPECT_EQ(answered.status, "RUNNING"); // still finishing what is in flight
  EXPECT_TRUE(answered.cancel_requested);
  EXPECT_EQ(net->open.size(), 2u);
  answer_batch();
  answer_batch();
  EXPECT_TRUE(net->open.empty()) << "a batch was sent after the cancel";
  auto j = job(id);
  EXPECT_EQ(j.status, "CANCELLED");
  EXPECT_EQ(j.processed, 4u);
  EXPECT_EQ(j.total, 6u);
  ASSERT_FALSE(j.notes.empty());
  EXPECT_NE(j.notes.back().find("cancelled after 4 of 6"), std::string::npos)
      << j.notes.back();
  EXPECT_EQ(net->sent.size(), 3u);
  EXPECT_EQ(statuses_seen().back(), "CANCELLED");
}

TEST_F(sync_job_test, a_pending_job_cancels_at_once_and_the_next_one_waits) {
  seed(2);
  start();
  auto first = create_job();
  auto second = create_job();
  EXPECT_EQ(job(second).status, "PENDING");
  EXPECT_EQ(net->open.size(), 1u); // only the first job talks to Mailchimp
  auto j = ask(atom::cancel_v, second);
  EXPECT_EQ(j.status, "CANCELLED");
  EXPECT_EQ(job(second).status, "CANCELLED");
  answer(audience_ok);
  answer_batch();
  EXPECT_EQ(job(first).status, "COMPLETED");
  EXPECT_TRUE(net->open.empty()) << "the cancelled job ran";
}

TEST_F(sync_job_test, retry_resumes_from_the_checkpoint_with_the_next_attempt) {
  seed(6);
  start();
  auto id = create_job();
  answer(audience_ok);
  answer_batch(); // s0, s1: acknowledged and checkpointed
  // The next batch is refused for good (a 400 is not retried).
  ASSERT_EQ(net->open.size(), 2u);
  answer({400, R"({"title":"Invalid Resource","detail":"bad"})", {}});
  answer_batch(); // the batch still in flight finishes, then the job fails
  auto failed = job(id);
  EXPECT_EQ(failed.status, "FAILED");
  EXPECT_EQ(failed.error_code, "mailchimp_refused");
  EXPECT_EQ(failed.processed, 2u);
  auto sent_before = net->sent.size();

  auto j = ask(atom::retry_v, id);
  EXPECT_EQ(j.attempt, 2u);
  answer(audience_ok);
  while (!net->open.empty())
    answer_batch();
  auto done = job(id);
  EXPECT_EQ(done.status, "COMPLETED");
  EXPECT_EQ(done.attempt, 2u);
  EXPECT_EQ(done.processed, 6u);
  EXPECT_TRUE(done.error_code.empty());
  // The retry began after the checkpoint: s0 and s1 were not sent again.
  std::string resent;
  for (size_t i = sent_before; i < net->sent.size(); ++i)
    resent += net->sent[i].body;
  EXPECT_EQ(resent.find("s0@example.com"), std::string::npos);
  EXPECT_EQ(resent.find("s1@example.com"), std::string::npos);
  for (auto addr : {"s2@", "s3@", "s4@", "s5@"})
    EXPECT_NE(resent.find(addr), std::string::npos) << addr;
}

TEST_F(sync_job_test, backoff_waits_on_the_clock_doubles_and_is_bounded) {
  seed(2);
  start(2, 1);
  auto id = create_job();
  answer(audience_ok);
  ASSERT_EQ(net->open.size(), 1u);
  answer({429, R"({"title":"Too Many Requests"})", {}});
  // Nothing goes out again until the backoff (1 s) has passed.
  EXPECT_TRUE(net->open.empty());
  sched.advance_time(999ms);
  sched.run();
  EXPECT_TRUE(net->open.empty()) << "retried before the backoff";
  sched.advance_time(1ms);
  sched.run();
  ASSERT_EQ(net->open.size(), 1u);
  answer({503, {}, {}});
  sched.advance_time(1999ms); // the second backoff is 2 s
  sched.run();
  EXPECT_TRUE(net->open.empty());
  sched.advance_time(1ms);
  sched.run();
  ASSERT_EQ(net->open.size(), 1u);
  // The third attempt is the last: its 503 goes to the job.
  answer({503, {}, {}});
  sched.advance_time(60s);
  sched.run();
  EXPECT_TRUE(net->open.empty());
  EXPECT_EQ(net->sent.size(), 4u); // the audience + 3 attempts
  auto j = job(id);
  EXPECT_EQ(j.status, "FAILED");
  EXPECT_EQ(j.error_code, "mailchimp_unavailable");
  EXPECT_NE(j.error_message.find("retry the job later"), std::string::npos);
}

TEST_F(sync_job_test, a_revoked_token_fails_the_job_and_flags_the_connection) {
  seed(4);
  start();
  auto id = create_job();
  answer(audience_ok);
  answer_batch();
  answer({401, R"({"title":"API Key Invalid"})", {}});
  sched.run();
  while (!net->open.empty())
    answer_batch();
  auto j = job(id);
  EXPECT_EQ(j.status, "FAILED");
  EXPECT_EQ(j.error_code, "token_revoked");
  EXPECT_EQ(j.processed, 2u); // the first batch counts; the rest does not
  ASSERT_EQ(rejected->size(), 1u);
  EXPECT_EQ(rejected->front(), account);
}

TEST_F(sync_job_test, a_dying_client_actor_fails_the_job_instead_of_hanging) {
  seed(4);
  start();
  auto id = create_job();
  answer(audience_ok);
  ASSERT_EQ(net->open.size(), 2u);
  self->send_exit(fetcher, caf::make_error(caf::sec::runtime_error));
  sched.run();
  // Its answers will never come: the job ends at once, not at a timeout.
  auto j = job(id);
  EXPECT_EQ(j.status, "FAILED");
  EXPECT_EQ(j.error_code, "mailchimp_unreachable");
  EXPECT_EQ(j.processed, 0u);
  EXPECT_NE(j.error_message.find("retry"), std::string::npos);
  // Late answers and timeouts go nowhere and change nothing.
  net->open.front().done(all_created(net->open.front().call));
  net->open.clear();
  sched.trigger_timeouts();
  sched.run();
  EXPECT_EQ(job(id).status, "FAILED");
  EXPECT_EQ(job(id).processed, 0u);
  fetcher = nullptr;
}

TEST_F(sync_job_test, a_job_actor_that_dies_is_recorded_and_the_next_one_runs) {
  seed(2);
  start();
  auto first = create_job();
  auto second = create_job();
  // The job actor is the one that asked for credentials.
  ASSERT_EQ(askers->size(), 1u);
  // As an exception escaping a handler would end it.
  self->send_exit(askers->front(), caf::make_error(caf::sec::runtime_error));
  sched.run();
  auto dead = job(first);
  EXPECT_EQ(dead.status, "FAILED");
  EXPECT_EQ(dead.error_code, "internal");
  // The supervisor lives on and starts the next job.
  ASSERT_EQ(net->open.size(), 2u);
  answer(audience_ok); // the dead job's check: the answer goes nowhere
  answer(audience_ok); // the second job's
  answer_batch();
  EXPECT_EQ(job(second).status, "COMPLETED");
  EXPECT_EQ(job(first).status, "FAILED");
}

} // namespace
