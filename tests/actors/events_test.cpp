// The EVENT BUS on virtual time: who gets which events, sinks that go away,
// and sinks that fall behind.
#include "actors/errors.hpp"
#include "actors/events.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace ls;
using namespace std::chrono_literals;

/// A sink that answers every event at once and keeps it.
event_sink_actor::behavior_type
keeping_sink(event_sink_actor::pointer,
             std::shared_ptr<std::vector<event>> seen) {
  return {
      [=](atom::publish, event& e) {
        seen->push_back(std::move(e));
        return true;
      },
  };
}

/// A sink that never answers (a browser whose socket stopped draining).
struct stuck_state {
  static inline const char* name = "stuck-sink";
  std::vector<caf::typed_response_promise<bool>> held;
};

event_sink_actor::behavior_type
stuck_sink(event_sink_actor::stateful_pointer<stuck_state> self,
           std::shared_ptr<caf::error> exit_reason) {
  self->set_exit_handler([=](caf::exit_msg& em) {
    *exit_reason = em.reason;
    self->quit(em.reason);
  });
  return {
      [=](atom::publish, event&) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        self->state.held.push_back(rp);
        return rp;
      },
  };
}

event job_update(const std::string& account, const std::string& id) {
  return {account, "job.updated", "job", R"({"id":")" + id + R"("})"};
}

event subscriber_created(const std::string& account) {
  return {account, "subscriber.created", "subscriber", R"({"id":"sub_1"})"};
}

class event_bus_test : public ::testing::Test {
protected:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::ls>();
    return cfg;
  }

  event_bus_test()
      : sys(init(cfg)), self(sys, true),
        sched(
            dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    event_bus_options opts;
    opts.max_unanswered = 4;
    opts.answer_timeout = 10s;
    bus = sys.spawn(event_bus_impl, opts);
    sched.run();
  }

  ~event_bus_test() override {
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void subscribe(const event_sink_actor& sink, std::string account,
                 bool jobs_only) {
    auto h = self->request(bus, caf::infinite, atom::subscribe_v, sink,
                           std::move(account), jobs_only);
    sched.run();
    h.receive([](bool ok) { EXPECT_TRUE(ok); },
              [](caf::error& e) { ADD_FAILURE() << to_string(e); });
  }

  void publish(event e) {
    caf::anon_send(bus, atom::publish_v, std::move(e));
    sched.run();
  }

  uint64_t sinks() {
    auto h = self->request(bus, caf::infinite, atom::status_v);
    sched.run();
    uint64_t n = 999;
    h.receive([&](uint64_t x) { n = x; },
              [](caf::error& e) { ADD_FAILURE() << to_string(e); });
    return n;
  }

  auto keeping() {
    auto seen = std::make_shared<std::vector<event>>();
    auto sink = sys.spawn(keeping_sink, seen);
    sched.run();
    return std::make_pair(sink, seen);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  event_bus_actor bus;
};

TEST_F(event_bus_test, an_account_sees_its_own_events_and_the_admin_every_job) {
  auto [mine, mine_seen] = keeping();
  auto [admin, admin_seen] = keeping();
  subscribe(mine, "acc_a", false);
  subscribe(admin, "", true);
  publish(job_update("acc_a", "job_1"));
  publish(job_update("acc_b", "job_2"));
  publish(subscriber_created("acc_a"));
  publish(subscriber_created("acc_b"));
  ASSERT_EQ(mine_seen->size(), 2u);
  EXPECT_EQ((*mine_seen)[0].type, "job.updated");
  EXPECT_EQ((*mine_seen)[1].type, "subscriber.created");
  for (auto& e : *mine_seen)
    EXPECT_EQ(e.account_id, "acc_a");
  ASSERT_EQ(admin_seen->size(), 2u);
  EXPECT_EQ((*admin_seen)[0].account_id, "acc_a");
  EXPECT_EQ((*admin_seen)[1].account_id, "acc_b");
  for (auto& e : *admin_seen)
    EXPECT_EQ(e.type, "job.updated");
  caf::anon_send_exit(mine, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
}

TEST_F(event_bus_test, a_sink_that_goes_down_is_dropped) {
  auto [sink, seen] = keeping();
  subscribe(sink, "acc_a", false);
  EXPECT_EQ(sinks(), 1u);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  sched.run();
  EXPECT_EQ(sinks(), 0u);
  publish(job_update("acc_a", "job_1")); // nobody to send to: no error
  EXPECT_TRUE(seen->empty());
}

TEST_F(event_bus_test, unsubscribe_stops_the_events) {
  auto [sink, seen] = keeping();
  subscribe(sink, "acc_a", false);
  publish(job_update("acc_a", "job_1"));
  caf::anon_send(bus, atom::unsubscribe_v, sink);
  sched.run();
  publish(job_update("acc_a", "job_2"));
  EXPECT_EQ(seen->size(), 1u);
  EXPECT_EQ(sinks(), 0u);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST_F(event_bus_test, a_sink_that_falls_behind_is_cut_off_and_others_go_on) {
  auto reason = std::make_shared<caf::error>();
  auto stuck = sys.spawn(stuck_sink, reason);
  auto [fast, fast_seen] = keeping();
  sched.run();
  subscribe(stuck, "acc_a", false);
  subscribe(fast, "acc_a", false);
  for (int i = 0; i < 4; ++i)
    publish(job_update("acc_a", "job_1"));
  EXPECT_EQ(sinks(), 2u); // 4 unanswered: at the limit, still subscribed
  EXPECT_FALSE(*reason);
  publish(job_update("acc_a", "job_1"));
  EXPECT_EQ(sinks(), 1u);
  EXPECT_EQ(*reason, caf::make_error(ls_error::too_slow));
  EXPECT_EQ(fast_seen->size(), 5u);
  caf::anon_send_exit(fast, caf::exit_reason::user_shutdown);
}

TEST_F(event_bus_test, a_sink_that_does_not_answer_in_time_is_cut_off) {
  auto reason = std::make_shared<caf::error>();
  auto stuck = sys.spawn(stuck_sink, reason);
  sched.run();
  subscribe(stuck, "", true);
  publish(job_update("acc_a", "job_1"));
  EXPECT_EQ(sinks(), 1u);
  sched.advance_time(10s);
  sched.run();
  EXPECT_EQ(sinks(), 0u);
  EXPECT_EQ(*reason, caf::make_error(ls_error::too_slow));
}

TEST(event_frames, account_and_admin_frames_carry_the_object) {
  auto e = job_update("acc_a", "job_1");
  EXPECT_EQ(account_frame(e), R"({"type":"job.updated","job":{"id":"job_1"}})");
  EXPECT_EQ(
      admin_frame(e),
      R"({"type":"job.updated","account_id":"acc_a","job":{"id":"job_1"}})");
}

TEST(event_frames, a_job_event_holds_the_jobs_json) {
  store::sync_job j;
  j.id = "job_x";
  j.account_id = "acc_a";
  j.provider = "mailchimp";
  j.status = "RUNNING";
  j.total = 10;
  auto e = job_event(j);
  EXPECT_EQ(e.type, "job.updated");
  EXPECT_EQ(e.subject, "job");
  EXPECT_EQ(e.account_id, "acc_a");
  EXPECT_NE(e.object.find(R"("id":"job_x")"), std::string::npos) << e.object;
  EXPECT_NE(e.object.find(R"("status":"RUNNING")"), std::string::npos);
  EXPECT_NE(e.object.find(R"("total":10)"), std::string::npos);
}

} // namespace
