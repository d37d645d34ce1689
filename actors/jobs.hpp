// Sync jobs: the JOB SUPERVISOR, the SYNC JOB actors and the MAPPER.
#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>

namespace ls {

struct jobs_config {
  std::shared_ptr<store::database> db;
  store_actor store;
  integrations_actor integrations;
  mapper_actor mapper;
  event_bus_actor bus;    ///< may be null: no events
  webhook_actor webhooks; ///< may be null: no webhook nudges
  size_t batch_size = 500;
  size_t max_in_flight =
      9; ///< batches per job; the FETCHER bounds the total per user
  std::chrono::milliseconds request_timeout{120000};
};

mapper_actor::behavior_type mapper_impl(mapper_actor::pointer self);

struct job_supervisor_state {
  static inline const char* name = "job-supervisor";
  jobs_config cfg;
  /// The running Mailchimp job of each account, and the ones waiting, in order.
  std::map<std::string, std::pair<std::string, sync_job_actor>> running;
  std::map<std::string, std::deque<std::string>> waiting;
  /// Every job actor spawned and not yet gone (their exit messages are not ours
  /// to obey).
  std::set<caf::actor_addr> children;
};

job_supervisor_actor::behavior_type job_supervisor_impl(
    job_supervisor_actor::stateful_pointer<job_supervisor_state> self,
    jobs_config cfg);

} // namespace ls
