// WORKER POOL: runs blocking work (argon2id password hashing, DNS look-ups of
// webhook targets) on a fixed number of detached workers behind a short queue.
// Work beyond the queue is refused at once (ls_error::unavailable), so a crowd
// of strangers costs at most `workers` threads and their memory, never a
// thread per request, and never blocks the scheduler's few threads.
#pragma once

#include "actors/interfaces.hpp"

#include <cstddef>
#include <string>

namespace ls {

struct worker_pool_options {
  std::string name = "worker-pool"; ///< for logs and the actors' names
  size_t workers = 2;               ///< pieces of work run at once
  size_t queue = 16;                ///< pieces waiting for a worker
};

/// Spawns the pool's front actor (on the scheduler; it keeps the queue) and
/// its workers (detached, linked to it).
worker_pool_actor spawn_worker_pool(caf::actor_system& sys,
                                    worker_pool_options opts);

} // namespace ls
