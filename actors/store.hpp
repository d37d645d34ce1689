#pragma once

#include "actors/interfaces.hpp"

#include <memory>

namespace ls {

class metrics;

struct store_state {
  static inline const char* name = "store";
  std::shared_ptr<store::database> db;
  std::shared_ptr<metrics> stats;
  struct pending_write {
    store::write_op_ptr op;
    caf::typed_response_promise<store::outcome> promise;
  };
  std::vector<pending_write> pending;
  bool flush_scheduled = false;
  uint64_t commits = 0;
};

/// The STORE actor; spawn it detached (its commits block on fsync).
store_actor::behavior_type
store_impl(store_actor::stateful_pointer<store_state> self,
           std::shared_ptr<store::database> db, std::shared_ptr<metrics> stats);

} // namespace ls
