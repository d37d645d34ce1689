// Every atom and message type of the system, in one CAF type-ID block.
#pragma once

#include "actors/mailchimp.hpp"
#include "storage/database.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/type_id.hpp>
#include <cstdint>
#include <functional>
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

/// One outbound HTTP exchange with Mailchimp (OAuth or API).
struct mc_call {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>>
      headers; ///< may hold a token: never log
  std::string body;
  int64_t timeout_ms = 120000;
};

struct mc_reply {
  unsigned status = 0; ///< 0: no answer (see error)
  std::string body;
  std::string error;
};

/// What the integrations overview shows of a Mailchimp connection.
struct mailchimp_status {
  std::string state =
      "disconnected"; ///< disconnected | connected | needs_reconnect
  std::string account_name;
  std::string login_email;
  std::string dc;
  std::string audience_id;
  std::string audience_name;
};

using audience_list = std::vector<mailchimp::audience>;

/// A batch ready to send: the request body, and what was left out of it.
struct mapped_batch {
  std::string body;
  size_t members = 0;
  size_t phone_only = 0;
  size_t unsubscribed = 0;
};

using subscriber_list = std::vector<store::subscriber>;

/// Something that happened to an account's objects, for the EVENT BUS.
struct event {
  std::string account_id;
  std::string type;    ///< job.updated, subscriber.created, …
  std::string subject; ///< the key the object goes under: "job", "subscriber"
  std::string object;  ///< the object's JSON, as the API shows it
  bool is_job() const { return subject == "job"; }
};

/// A piece of blocking work for a WORKER POOL. It reports its result through
/// what it captures (the caller reads it once the pool answers true).
struct blocking_work {
  std::function<void()> fn;
};

} // namespace ls

// write_op and outcome live in one process only: they are never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::write_op_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::outcome)
// Mailchimp exchanges stay in process too (they may carry tokens: never
// serialized).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::mc_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::mc_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::mailchimp_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::audience_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::mailchimp::audience)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::mailchimp_connection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::sync_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::mapped_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::subscriber_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::webhook_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::store::webhook_attempt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::blocking_work)

CAF_BEGIN_TYPE_ID_BLOCK(ls, caf::first_custom_type_id)
CAF_ADD_ATOM(ls, ls::atom, write, "write")
CAF_ADD_ATOM(ls, ls::atom, flush, "flush")
CAF_ADD_ATOM(ls, ls::atom, health, "health")
CAF_ADD_ATOM(ls, ls::atom, next, "next")
CAF_ADD_ATOM(ls, ls::atom, call, "call")
CAF_ADD_ATOM(ls, ls::atom, done, "done")
CAF_ADD_ATOM(ls, ls::atom, audiences, "audiences")
CAF_ADD_ATOM(ls, ls::atom, create, "create")
CAF_ADD_ATOM(ls, ls::atom, choose, "choose")
CAF_ADD_ATOM(ls, ls::atom, status, "status")
CAF_ADD_ATOM(ls, ls::atom, connected, "connected")
CAF_ADD_ATOM(ls, ls::atom, disconnect, "disconnect")
CAF_ADD_ATOM(ls, ls::atom, rejected, "rejected")
CAF_ADD_ATOM(ls, ls::atom, retry, "retry")
CAF_ADD_ATOM(ls, ls::atom, cancel, "cancel")
CAF_ADD_ATOM(ls, ls::atom, start, "start")
CAF_ADD_ATOM(ls, ls::atom, credentials, "creds")
CAF_ADD_ATOM(ls, ls::atom, job_done, "job_done")
CAF_ADD_ATOM(ls, ls::atom, publish, "publish")
CAF_ADD_ATOM(ls, ls::atom, subscribe, "subscribe")
CAF_ADD_ATOM(ls, ls::atom, unsubscribe, "unsub")
CAF_ADD_ATOM(ls, ls::atom, run, "run")
CAF_ADD_TYPE_ID(ls, (ls::blocking_work))
CAF_ADD_TYPE_ID(ls, (ls::store::write_op_ptr))
CAF_ADD_TYPE_ID(ls, (ls::store::outcome))
CAF_ADD_TYPE_ID(ls, (ls::health_report))
CAF_ADD_TYPE_ID(ls, (ls::mc_call))
CAF_ADD_TYPE_ID(ls, (ls::mc_reply))
CAF_ADD_TYPE_ID(ls, (ls::mailchimp_status))
CAF_ADD_TYPE_ID(ls, (ls::audience_list))
CAF_ADD_TYPE_ID(ls, (ls::mailchimp::audience))
CAF_ADD_TYPE_ID(ls, (ls::store::mailchimp_connection))
CAF_ADD_TYPE_ID(ls, (ls::store::sync_job))
CAF_ADD_TYPE_ID(ls, (ls::mapped_batch))
CAF_ADD_TYPE_ID(ls, (ls::subscriber_list))
CAF_ADD_TYPE_ID(ls, (ls::event))
CAF_ADD_TYPE_ID(ls, (ls::store::webhook_delivery))
CAF_ADD_TYPE_ID(ls, (ls::store::webhook_attempt))
CAF_END_TYPE_ID_BLOCK(ls)
