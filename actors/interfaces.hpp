// The typed interfaces of every actor, one line per handler, each naming the
// file that implements it (the HTTP routes live in actors/routes/).
#pragma once

#include "actors/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ls {

/// STORE (actors/store.cpp): the only LMDB writer. Changes queue up and commit
/// together (group commit); each reply comes after the transaction holding it
/// is on disk.
using store_actor = caf::typed_actor<
    // Applies a change; answers its outcome once durable.
    caf::replies_to<atom::write, store::write_op_ptr>::with<store::outcome>,
    // Internal: commits what has queued.
    caf::reacts_to<atom::flush>,
    // Answers whether storage works and how many commits it made.
    caf::replies_to<atom::health>::with<health_report>>;

/// FETCHER (actors/integrations.cpp): runs outbound HTTP exchanges with at most
/// N in flight (one per Mailchimp user, N = mailchimp.max_connections, so every
/// job and account sharing that user stays within Mailchimp's limit; one more,
/// roomier, for the OAuth host). Queues the rest in order.
using fetcher_actor = caf::typed_actor<
    // Runs one exchange; answers when it completed or failed (never an error:
    // see mc_reply).
    caf::replies_to<atom::call, mc_call>::with<mc_reply>,
    // Internal: an exchange finished on the client's io thread.
    caf::reacts_to<atom::done, uint64_t, mc_reply>,
    // Internal: a backoff for exchange N is over; send it again.
    caf::reacts_to<atom::retry, uint64_t>>;

/// ACCOUNT (actors/integrations.cpp): one per account with a Mailchimp
/// connection; holds the decrypted token.
using account_actor = caf::typed_actor<
    // Every audience of the connected Mailchimp account (all pages).
    caf::replies_to<atom::audiences>::with<audience_list>,
    // Creates an audience with this name from the account's own contact
    // details.
    caf::replies_to<atom::create, std::string>::with<mailchimp::audience>,
    // Chooses the audience that syncs go to (checked with Mailchimp first).
    caf::replies_to<atom::choose, std::string>::with<mailchimp::audience>,
    // The connection as the overview shows it.
    caf::replies_to<atom::status>::with<mailchimp_status>>;

/// What a sync job needs to talk to Mailchimp for an account (the token stays
/// in memory).
struct job_credentials {
  std::string token;
  std::string api;
  std::string audience_id;
  std::string audience_name;
  fetcher_actor fetcher;
};

/// INTEGRATIONS (actors/integrations.cpp): owns the ACCOUNT actors and the
/// per-user FETCHERs.
using integrations_actor = caf::typed_actor<
    // A connection was stored (OAuth done): (re)start that account's actor.
    caf::replies_to<atom::connected, store::mailchimp_connection>::with<bool>,
    // Forwarded to the account's actor (not_found when not connected).
    caf::replies_to<atom::audiences, std::string>::with<audience_list>,
    caf::replies_to<atom::create, std::string,
                    std::string>::with<mailchimp::audience>,
    caf::replies_to<atom::choose, std::string,
                    std::string>::with<mailchimp::audience>,
    caf::replies_to<atom::status, std::string>::with<mailchimp_status>,
    // Deletes the stored connection (and so the token) and stops the account's
    // actor.
    caf::replies_to<atom::disconnect, std::string>::with<bool>,
    // An account's token was refused by Mailchimp (HTTP 401): mark it
    // needs_reconnect.
    caf::reacts_to<atom::rejected, std::string>,
    // A FETCHER for outbound calls: the OAuth one for "", else the one of this
    // Mailchimp user.
    caf::replies_to<atom::call, std::string>::with<fetcher_actor>,
    // What a sync job of this account needs (not_connected when it cannot run).
    caf::replies_to<atom::credentials, std::string>::with<job_credentials>>;

/// MAPPER (actors/jobs.cpp; its logic in actors/mapper.cpp): subscribers → a
/// batch subscribe body (pure functions behind a thin actor).
using mapper_actor = caf::typed_actor<
    // Maps a page of subscribers; the flag: the audience has double opt-in.
    caf::replies_to<atom::call, subscriber_list, bool>::with<mapped_batch>>;

/// SYNC JOB (actors/jobs.cpp): one per running job; PENDING → RUNNING →
/// COMPLETED | FAILED | CANCELLED.
using sync_job_actor = caf::typed_actor<
    // Begins (or resumes from the job's checkpoint).
    caf::reacts_to<atom::start>,
    // Sends no new batches; ends CANCELLED once the ones in flight are
    // answered.
    caf::replies_to<atom::cancel>::with<store::sync_job>>;

/// JOB SUPERVISOR (actors/jobs.cpp): creates, queues, starts and restores jobs;
/// one running Mailchimp job per account, the rest wait in order.
using job_supervisor_actor = caf::typed_actor<
    // Stores a new PENDING job and schedules it.
    caf::replies_to<atom::create, store::sync_job>::with<store::sync_job>,
    // (account, job id): PENDING or RUNNING → CANCELLED (conflict otherwise).
    caf::replies_to<atom::cancel, std::string,
                    std::string>::with<store::sync_job>,
    // (account, job id): FAILED or CANCELLED → PENDING with attempt + 1.
    caf::replies_to<atom::retry, std::string,
                    std::string>::with<store::sync_job>,
    // Mailchimp was disconnected: the account's Mailchimp jobs end CANCELLED.
    caf::replies_to<atom::disconnect, std::string>::with<bool>,
    // A job actor ended (account, job id).
    caf::reacts_to<atom::job_done, std::string, std::string>>;

/// EVENT SINK: a websocket PROXY (actors/routes/events.cpp). It answers each
/// event once handled, which is how the bus tells a slow sink.
using event_sink_actor =
    caf::typed_actor<caf::replies_to<atom::publish, event>::with<bool>>;

/// EVENT BUS (actors/events.cpp): fans events out to the sinks that asked for
/// them; drops a sink when it goes DOWN and cuts off one that falls behind.
using event_bus_actor =
    caf::typed_actor<caf::reacts_to<atom::publish, event>,
                     // (sink, account, jobs only): the account's events, or
                     // every account's when the account is "".
                     caf::replies_to<atom::subscribe, event_sink_actor,
                                     std::string, bool>::with<bool>,
                     caf::reacts_to<atom::unsubscribe, event_sink_actor>,
                     // How many sinks are subscribed.
                     caf::replies_to<atom::status>::with<uint64_t>>;

/// WEBHOOK DELIVERY (actors/webhooks.cpp): sends what the outbox holds, signed,
/// retried on a schedule; one message in flight per account, in order per
/// subject.
using webhook_actor = caf::typed_actor<
    // The account's outbox got new messages (sent after their commit).
    caf::reacts_to<atom::next, std::string>,
    // Internal: an attempt (account, delivery id) ended; the last string is the
    // answer's Retry-After.
    caf::reacts_to<atom::done, std::string, std::string, store::webhook_attempt,
                   std::string>,
    // Internal: a timer; sends what is due.
    caf::reacts_to<atom::retry>,
    // (account, delivery id): send it again now (whatever its status).
    caf::replies_to<atom::retry, std::string,
                    std::string>::with<store::webhook_delivery>>;

/// WORKER POOL (actors/worker_pool.cpp): blocking work (password hashing, DNS)
/// on a fixed pool with a short queue; beyond it, ls_error::unavailable at
/// once.
using worker_pool_actor = caf::typed_actor<
    // Runs the work; answers true when it ran to its end.
    caf::replies_to<atom::run, blocking_work>::with<bool>>;

} // namespace ls

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ls::job_credentials)
