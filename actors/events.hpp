// The EVENT BUS: job and subscriber events, fanned out to websocket proxies
// and webhook delivery.
#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <map>

namespace ls {

/// A job changed (state or progress): `job.updated` with the job's JSON.
event job_event(const store::sync_job& job);

/// A subscriber changed: subscriber.created, .updated, .unsubscribed with the
/// subscriber's JSON.
event subscriber_event(std::string type, const store::subscriber& s);
/// A subscriber was deleted: only its id remains.
event subscriber_deleted(const std::string& account_id, const std::string& id);

/// The text frame an account's own socket gets: {"type":…,"job":{…}}.
std::string account_frame(const event& e);
/// The text frame of the admin socket: {"type":…,"account_id":…,"job":{…}}.
std::string admin_frame(const event& e);

struct event_bus_options {
  /// Events sent to a sink and not yet answered; one more and it is cut off.
  size_t max_unanswered = 256;
  /// A sink that takes longer than this to answer one event is cut off.
  std::chrono::milliseconds answer_timeout{30000};
};

struct event_bus_state {
  static inline const char* name = "event-bus";
  struct subscription {
    event_sink_actor sink;
    std::string account; ///< "" for every account
    bool jobs_only = false;
    size_t unanswered = 0;
  };
  event_bus_options opts;
  std::map<caf::actor_addr, subscription> sinks;
  uint64_t published = 0;
  uint64_t cut_off = 0;
};

event_bus_actor::behavior_type
event_bus_impl(event_bus_actor::stateful_pointer<event_bus_state> self,
               event_bus_options opts);

} // namespace ls
