#include "actors/worker_pool.hpp"

#include "actors/errors.hpp"

#include <caf/all.hpp>
#include <deque>
#include <spdlog/spdlog.h>

namespace ls {

namespace {

using worker_actor =
    caf::typed_actor<caf::replies_to<atom::run, blocking_work>::with<bool>>;

worker_actor::behavior_type worker_impl(worker_actor::pointer) {
  return {
      [](atom::run, blocking_work& work) {
        try {
          work.fn();
        } catch (const std::exception& e) {
          // The work reports its own outcome through what it captured; an
          // exception leaves that untouched, and the caller sees false.
          spdlog::error("worker pool: {}", e.what());
          return false;
        }
        return true;
      },
  };
}

struct waiting_work {
  blocking_work work;
  caf::typed_response_promise<bool> promise;
};

struct front_state {
  std::vector<worker_actor> idle;
  std::deque<waiting_work> waiting;
  size_t queue_limit = 0;
  static inline const char* name = "worker-pool";
};

using front_actor = worker_pool_actor::stateful_pointer<front_state>;

void run(front_actor self, worker_actor w, waiting_work item) {
  self->request(w, caf::infinite, atom::run_v, std::move(item.work))
      .then(
          [self, w, p = item.promise](bool ok) mutable {
            p.deliver(ok);
            // The worker takes the oldest waiting piece, or goes idle.
            auto& st = self->state;
            if (st.waiting.empty()) {
              st.idle.push_back(w);
              return;
            }
            auto next = std::move(st.waiting.front());
            st.waiting.pop_front();
            run(self, w, std::move(next));
          },
          [p = item.promise](caf::error& err) mutable {
            // The worker is gone (shutting down): it is not put back.
            p.deliver(std::move(err));
          });
}

worker_pool_actor::behavior_type front_impl(front_actor self,
                                            std::vector<worker_actor> workers,
                                            size_t queue_limit) {
  self->state.idle = std::move(workers);
  self->state.queue_limit = queue_limit;
  for (auto& w : self->state.idle)
    self->link_to(w); // the workers end with the front actor
  return {
      [self](atom::run, blocking_work& work) {
        auto p = self->make_response_promise<bool>();
        auto& st = self->state;
        if (!st.idle.empty()) {
          auto w = std::move(st.idle.back());
          st.idle.pop_back();
          run(self, std::move(w), {std::move(work), p});
        } else if (st.waiting.size() < st.queue_limit) {
          st.waiting.push_back({std::move(work), p});
        } else {
          p.deliver(caf::make_error(ls_error::unavailable,
                                    "the server is busy; try again shortly"));
        }
        return p;
      },
  };
}

} // namespace

worker_pool_actor spawn_worker_pool(caf::actor_system& sys,
                                    worker_pool_options opts) {
  std::vector<worker_actor> workers;
  for (size_t i = 0; i < std::max<size_t>(opts.workers, 1); ++i)
    workers.push_back(sys.spawn<caf::detached>(worker_impl));
  return sys.spawn(front_impl, std::move(workers), opts.queue);
}

} // namespace ls
