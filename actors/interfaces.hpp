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

/// FETCHER: runs outbound HTTP exchanges with at most N in flight (one per Mailchimp user,
/// N = mailchimp.max_connections, so every job and account sharing that user stays within
/// Mailchimp's limit; one more, roomier, for the OAuth host). Queues the rest in order.
using fetcher_actor = caf::typed_actor<
  // Runs one exchange; answers when it completed or failed (never an error: see mc_reply).
  caf::replies_to<atom::call, mc_call>::with<mc_reply>,
  // Internal: an exchange finished on the client's io thread.
  caf::reacts_to<atom::done, uint64_t, mc_reply>>;

/// ACCOUNT: one per account with a Mailchimp connection; holds the decrypted token.
using account_actor = caf::typed_actor<
  // Every audience of the connected Mailchimp account (all pages).
  caf::replies_to<atom::audiences>::with<audience_list>,
  // Creates an audience with this name from the account's own contact details.
  caf::replies_to<atom::create, std::string>::with<mailchimp::audience>,
  // Chooses the audience that syncs go to (checked with Mailchimp first).
  caf::replies_to<atom::choose, std::string>::with<mailchimp::audience>,
  // The connection as the overview shows it.
  caf::replies_to<atom::status>::with<mailchimp_status>>;

/// INTEGRATIONS: owns the ACCOUNT actors and the per-user FETCHERs.
using integrations_actor = caf::typed_actor<
  // A connection was stored (OAuth done): (re)start that account's actor.
  caf::replies_to<atom::connected, store::mailchimp_connection>::with<bool>,
  // Forwarded to the account's actor (not_found when not connected).
  caf::replies_to<atom::audiences, std::string>::with<audience_list>,
  caf::replies_to<atom::create, std::string, std::string>::with<mailchimp::audience>,
  caf::replies_to<atom::choose, std::string, std::string>::with<mailchimp::audience>,
  caf::replies_to<atom::status, std::string>::with<mailchimp_status>,
  // Deletes the stored connection (and so the token) and stops the account's actor.
  caf::replies_to<atom::disconnect, std::string>::with<bool>,
  // An account's token was refused by Mailchimp (HTTP 401): mark it needs_reconnect.
  caf::reacts_to<atom::rejected, std::string>,
  // A FETCHER for outbound calls: the OAuth one for "", else the one of this Mailchimp user.
  caf::replies_to<atom::call, std::string>::with<fetcher_actor>>;

} // namespace ls
