#include "actors/store.hpp"

#include "actors/metrics.hpp"

#include <caf/all.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

namespace ls {

namespace {

/// Applies every queued change in one transaction, each in a nested transaction
/// of its own so that a refused change leaves the others intact, and commits
/// once. On MDB_MAP_FULL the whole batch is rolled back, the map grows, and the
/// batch runs again.
std::vector<store::outcome> commit_batch(store_state& st) {
  auto& db = *st.db;
  for (int attempt = 0;; ++attempt) {
    std::vector<store::outcome> results;
    results.reserve(st.pending.size());
    try {
      auto t = lmdb::txn::write(db.env());
      for (auto& w : st.pending) {
        auto child = lmdb::txn::nested(db.env(), t);
        store::outcome r;
        try {
          r = w.op->apply(db, child);
        } catch (const lmdb::error& e) {
          if (e.map_full()) throw;
          r = store::outcome::fail(store::outcome::storage, e.what());
        } catch (const std::exception& e) {
          r = store::outcome::fail(store::outcome::storage, e.what());
        }
        if (r)
          child.commit();
        else
          child.abort();
        results.push_back(std::move(r));
      }
      t.commit();
      return results;
    } catch (const lmdb::error& e) {
      if (!e.map_full() || attempt >= 8) {
        spdlog::error("store: commit failed: {}", e.what());
        return std::vector<store::outcome>(
            st.pending.size(),
            store::outcome::fail(store::outcome::storage,
                                 "storage is not available"));
      }
      auto size = db.grow_map();
      if (st.stats) st.stats->store_map_growth();
      spdlog::warn("store: map full, grown to {} MiB", size >> 20);
    }
  }
}

} // namespace

store_actor::behavior_type
store_impl(store_actor::stateful_pointer<store_state> self,
           std::shared_ptr<store::database> db,
           std::shared_ptr<metrics> stats) {
  self->state.db = std::move(db);
  self->state.stats = std::move(stats);
  return {
      [=](atom::write, store::write_op_ptr& op) -> caf::result<store::outcome> {
        auto& st = self->state;
        auto rp = self->make_response_promise<store::outcome>();
        st.pending.push_back({std::move(op), rp});
        if (!st.flush_scheduled) {
          // Everything already in the mailbox is handled before this flush: one
          // commit for all.
          st.flush_scheduled = true;
          self->send(self, atom::flush_v);
        }
        return rp;
      },
      [=](atom::flush) {
        auto& st = self->state;
        st.flush_scheduled = false;
        if (st.pending.empty()) return;
        auto started = std::chrono::steady_clock::now();
        auto results = commit_batch(st);
        auto seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - started)
                           .count();
        ++st.commits;
        if (st.stats) st.stats->store_commit(st.pending.size(), seconds);
        auto batch = std::move(st.pending);
        st.pending.clear();
        for (size_t i = 0; i < batch.size(); ++i)
          batch[i].promise.deliver(std::move(results[i]));
      },
      [=](atom::health) {
        return health_report{self->state.db->healthy(), self->state.commits};
      },
  };
}

} // namespace ls
