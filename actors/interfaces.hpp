// The typed interfaces of every actor, one line per handler.
#pragma once

#include "actors/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ls {

/// STORE: the only LMDB writer. Changes queue up and commit together (group commit); each reply
/// comes after the transaction holding it is on disk.
using store_actor = caf::typed_actor<
  // Applies a change; answers its outcome once durable.
  caf::replies_to<atom::write, store::write_op_ptr>::with<store::outcome>,
  // Internal: commits what has queued.
  caf::reacts_to<atom::flush>,
  // Answers whether storage works and how many commits it made.
  caf::replies_to<atom::health>::with<health_report>>;

} // namespace ls
