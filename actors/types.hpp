// Every atom and message type of the system, in one CAF type-ID block.
#pragma once

#include "storage/database.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string>

namespace ls {

/// A snapshot of health for /healthz and the supervisor.
struct health_report {
  bool storage_ok = false;
  uint64_t commits = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_report& x) {
  return f(caf::meta::type_name("health_report"), x.storage_ok, x.commits);
}

} // namespace ls

// write_op and outcome live in one process only: they are never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::write_op_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::outcome)

CAF_BEGIN_TYPE_ID_BLOCK(ls, caf::first_custom_type_id)
  CAF_ADD_ATOM(ls, ls::atom, write, "write")
  CAF_ADD_ATOM(ls, ls::atom, flush, "flush")
  CAF_ADD_ATOM(ls, ls::atom, health, "health")
  CAF_ADD_ATOM(ls, ls::atom, next, "next")
  CAF_ADD_TYPE_ID(ls, (ls::store::write_op_ptr))
  CAF_ADD_TYPE_ID(ls, (ls::store::outcome))
  CAF_ADD_TYPE_ID(ls, (ls::health_report))
CAF_END_TYPE_ID_BLOCK(ls)
