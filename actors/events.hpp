// The EVENT BUS: job and subscriber events, fanned out to websocket proxies
// and webhook delivery.
#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string_view>

namespace ls {

/// A job changed (state or progress): `job.updated` with the job's JSON.
event job_event(const store::sync_job& job);

/// A subscriber changed: subscriber.created, .updated, .unsubscribed with the
/// subscriber's JSON.
event subscriber_event(std::string type, const store::subscriber& s);
/// A subscriber was deleted: only its id remains.
event subscriber_deleted(const std::string& account_id, const std::string& id);

/// A credential of the account stopped working (sign-out, token rotation):
/// the sockets opened with it close (4401). `credential` is what
/// credential_of() gives for it, or "*" for every socket of the account. Never
/// sent to a client.
event credentials_revoked(const std::string& account_id,
                          std::string credential);
constexpr std::string_view credentials_revoked_type = "credentials.revoked";
/// The WebSocket close code for a socket whose credentials were revoked.
constexpr uint16_t close_revoked = 4401;

/// Names a credential without revealing it: "session:<hex of its hash>", or
/// "api_token" (an account has one; rotating it revokes every socket opened
/// with it).
std::string credential_of_session(std::string_view session_token_hash);
inline const std::string api_token_credential = "api_token";

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
