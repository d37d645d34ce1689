// The LMDB schema and every query and change on it. Reads open their own short
// read-only transaction and are safe from any thread; changes are write_ops
// that only the STORE actor applies, inside its group-commit transaction.
#pragma once

#include "storage/lmdb.hpp"
#include "storage/records.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace ls::store {

/// How a change ended, as the API maps it: ok, or an error with a message for
/// the user.
struct outcome {
  enum code_t { ok, not_found, conflict, invalid, storage } code = ok;
  std::string message;
  std::string field; ///< for invalid / conflict: which input field, if any
  static outcome fail(code_t c, std::string msg, std::string field = {}) {
    return {c, std::move(msg), std::move(field)};
  }
  explicit operator bool() const { return code == ok; }
};

class database;

/// A change. apply() runs inside a nested transaction of the group commit; it
/// may run again (on a fresh transaction) when the map had to grow, so it must
/// not keep side effects outside the transaction except its result fields,
/// which it overwrites.
struct write_op {
  virtual ~write_op() = default;
  virtual outcome apply(database& db, lmdb::txn& t) = 0;
};
using write_op_ptr = std::shared_ptr<write_op>;

/// A write_op from a lambda, for small changes.
write_op_ptr make_op(std::function<outcome(database&, lmdb::txn&)> fn);

/// Filters for subscriber lists and exports.
struct subscriber_filter {
  std::string campaign_id;       ///< signed up through this campaign
  std::vector<std::string> tags; ///< has any of these
  std::string q; ///< case-insensitive substring of email, phone or names
  bool matches(const subscriber& s) const;
};

struct subscriber_page {
  std::vector<subscriber> items;
  std::string next_cursor; ///< opaque; empty at the end
};

class database {
public:
  static constexpr unsigned schema_version = 1;

  /// Opens (and creates or migrates) the environment. Throws lmdb::error or
  /// std::runtime_error (e.g. data of a newer schema).
  database(const std::string& path, uint64_t map_size);

  lmdb::env& env() { return env_; }
  /// Readers hold it shared for the life of a read transaction; map growth
  /// holds it exclusive (LMDB may only change the map size with no transaction
  /// open in the process).
  std::shared_mutex& resize_lock() { return resize_lock_; }
  /// Doubles the map (called by the STORE on MDB_MAP_FULL). Returns the new
  /// size.
  uint64_t grow_map();
  /// true when a read transaction can be opened (for /healthz).
  bool healthy();
  /// Drops this process's mapping of the pages read so far (they stay in the
  /// page cache). A long scan calls it now and then, so the memory-mapped file
  /// does not count against the process's resident memory without bound.
  void release_mapped_pages();

  // -- reads
  // ---------------------------------------------------------------------------------
  std::optional<account> account_by_id(std::string_view id);
  std::optional<account> account_by_email(std::string_view email);
  std::optional<account> account_by_handle(std::string_view handle);
  /// The account whose API token hashes to `token_hash`.
  std::optional<account> account_by_token_hash(std::string_view token_hash);
  std::optional<session> session_by_hash(std::string_view token_hash);

  std::optional<campaign> campaign_by_id(std::string_view account_id,
                                         std::string_view id);
  std::optional<campaign> campaign_by_slug(std::string_view account_id,
                                           std::string_view slug);
  /// Oldest first.
  std::vector<campaign> campaigns(std::string_view account_id);

  std::optional<subscriber> subscriber_by_id(std::string_view account_id,
                                             std::string_view id);
  /// Newest first. `cursor` from a previous page (empty for the first);
  /// `limit` 1..500. At most `max_scan` records are looked at per call, so a
  /// page may hold fewer items than `limit` and still have a next cursor.
  /// Returns nullopt for a malformed cursor.
  std::optional<subscriber_page>
  subscribers(std::string_view account_id, const subscriber_filter& filter,
              std::string_view cursor, size_t limit, size_t max_scan = 20000);
  /// Oldest first, for exports: calls `row` for up to `limit` matching
  /// subscribers after `after` (a key returned before; empty = from the start)
  /// and returns the key to continue from, or an empty string at the end.
  std::string export_page(std::string_view account_id,
                          const subscriber_filter& filter,
                          std::string_view after, size_t limit,
                          const std::function<void(const subscriber&)>& row);
  size_t subscriber_count(std::string_view account_id);
  /// Calls `each` with the `subscribed_at` of every matching subscriber who
  /// signed up at or after `since_us`, newest first. With an empty filter the
  /// times come from the keys alone (no record is decoded). Looks at
  /// `max_scan` records at most; returns false when it stopped there.
  bool signup_times(std::string_view account_id,
                    const subscriber_filter& filter, int64_t since_us,
                    size_t max_scan, const std::function<void(int64_t)>& each);

  std::optional<oauth_state> oauth_state_by_hash(std::string_view state_hash);
  std::optional<mailchimp_connection>
  mailchimp_connection_of(std::string_view account_id);
  /// Every Mailchimp connection (start-up).
  std::vector<mailchimp_connection> mailchimp_connections();

  std::optional<sync_job> job_by_id(std::string_view account_id,
                                    std::string_view id);
  struct job_page {
    std::vector<sync_job> items;
    std::string next_cursor;
  };
  /// Newest first; `status` / `provider` filter when not empty. nullopt for a
  /// bad cursor.
  std::optional<job_page> jobs(std::string_view account_id,
                               std::string_view status,
                               std::string_view provider,
                               std::string_view cursor, size_t limit,
                               size_t max_scan = 20000);
  /// Every job that is PENDING or RUNNING, oldest first (start-up).
  std::vector<sync_job> unfinished_jobs();

  std::optional<webhook_endpoint> webhook_of(std::string_view account_id);
  std::optional<webhook_delivery> delivery_by_id(std::string_view account_id,
                                                 std::string_view id);
  struct delivery_page {
    std::vector<webhook_delivery> items;
    std::string next_cursor;
  };
  /// The delivery log, newest first; `status` filters when not empty. nullopt
  /// for a bad cursor.
  std::optional<delivery_page> deliveries(std::string_view account_id,
                                          std::string_view status,
                                          std::string_view cursor, size_t limit,
                                          size_t max_scan = 20000);
  /// The accounts that have pending deliveries (read from the index's keys
  /// alone: one seek per account).
  std::vector<std::string> pending_accounts();
  /// The account's pending deliveries, oldest first, one at a time until
  /// `visit` returns false or `max_scan` were seen (only what is visited is
  /// decoded).
  void visit_pending(std::string_view account_id,
                     const std::function<bool(webhook_delivery&)>& visit,
                     size_t max_scan = 10000);

  // -- changes (only inside a write_op)
  // -------------------------------------------------------
  outcome insert_account(lmdb::txn& t, const account& a,
                         std::string_view api_token_hash);
  outcome set_api_token(lmdb::txn& t, std::string_view account_id,
                        std::string_view new_hash);
  outcome put_session(lmdb::txn& t, std::string_view token_hash,
                      const session& s);
  outcome delete_session(lmdb::txn& t, std::string_view token_hash);

  /// Inserts or replaces; checks that the slug is free in the account.
  outcome put_campaign(lmdb::txn& t, const campaign& c);
  /// Like put_campaign, but only when the campaign still exists.
  outcome replace_campaign(lmdb::txn& t, const campaign& c);
  outcome delete_campaign(lmdb::txn& t, std::string_view account_id,
                          std::string_view id);

  /// A public signup, which anyone may send for any address: the subscriber
  /// with the same email (or the same phone, when there is no email) gets the
  /// signup's tags and campaign added and its empty custom fields filled, and
  /// nothing else changes (no overwrite); one that is not subscribed is not
  /// subscribed again: the signup's consent becomes its resubscribe_request.
  /// An unknown address becomes a new subscriber, unless it was deleted before
  /// (then it comes back unsubscribed, with the request). `incoming` carries
  /// the new values (id, account_id, times and consent filled in by the
  /// caller). `created` tells which happened; `stored` is the result. Beyond
  /// subscriber_limits: invalid.
  outcome upsert_subscriber(lmdb::txn& t, const subscriber& incoming,
                            subscriber& stored, bool& created);
  /// Changes a subscriber in place: `change` edits the stored record (its
  /// outcome, when not ok, aborts); a changed email or phone is re-indexed.
  /// `result` is the stored record.
  outcome modify_subscriber(lmdb::txn& t, std::string_view account_id,
                            std::string_view id,
                            const std::function<outcome(subscriber&)>& change,
                            subscriber& result);
  /// Deletes the subscriber; its address is remembered (as a hash) so a
  /// stranger's signup cannot make it subscribed again.
  outcome delete_subscriber(lmdb::txn& t, std::string_view account_id,
                            std::string_view id);

  outcome put_oauth_state(lmdb::txn& t, std::string_view state_hash,
                          const oauth_state& s);
  /// Marks the state used when `is_owner` accepts it (the browser session
  /// that started it): conflict when it was used already, not_found when
  /// unknown, invalid (and still unused) when `is_owner` refuses. `found` is
  /// the state either way.
  outcome
  consume_oauth_state(lmdb::txn& t, std::string_view state_hash, int64_t now,
                      oauth_state& found,
                      const std::function<bool(const oauth_state&)>& is_owner);
  /// Drops up to `max` states that expired more than a day ago (their replays
  /// then read as unknown), oldest first through an index by expiry: the cost
  /// does not grow with the number of states.
  void purge_oauth_states(lmdb::txn& t, int64_t now, size_t max = 16);
  outcome put_mailchimp_connection(lmdb::txn& t, const mailchimp_connection& c);
  /// Changes the stored connection; not_found when there is none.
  outcome modify_mailchimp_connection(
      lmdb::txn& t, std::string_view account_id,
      const std::function<void(mailchimp_connection&)>& change);
  outcome delete_mailchimp_connection(lmdb::txn& t,
                                      std::string_view account_id);

  /// Inserts or replaces a job (its created_at never changes).
  outcome put_job(lmdb::txn& t, const sync_job& j);
  /// Changes a stored job; `change` returns an outcome to refuse (e.g. a wrong
  /// state).
  outcome modify_job(lmdb::txn& t, std::string_view account_id,
                     std::string_view id,
                     const std::function<outcome(sync_job&)>& change,
                     sync_job& result);

  /// Whether the account's active webhook takes events of `type` (read
  /// inside a change, so the message goes in the same commit).
  bool webhook_wants(lmdb::txn& t, std::string_view account_id,
                     std::string_view type);
  outcome put_webhook(lmdb::txn& t, const webhook_endpoint& w);
  outcome delete_webhook(lmdb::txn& t, std::string_view account_id);
  /// Changes the stored endpoint in place (not_found when there is none).
  outcome modify_webhook(lmdb::txn& t, std::string_view account_id,
                         const std::function<void(webhook_endpoint&)>& change);
  /// Failed deliveries created at or after `since_us` go back to pending, due
  /// at `now_us`; `count` gets how many.
  outcome replay_failed(lmdb::txn& t, std::string_view account_id,
                        int64_t since_us, int64_t now_us, size_t& count);
  /// Inserts or replaces a delivery (its created_at never changes) and keeps
  /// the pending index in step with its status.
  outcome put_delivery(lmdb::txn& t, const webhook_delivery& d);

private:
  friend struct schema;
  void open_schema();
  std::optional<subscriber> read_subscriber(lmdb::txn& t, std::string_view acc,
                                            std::string_view id);
  void write_subscriber(lmdb::txn& t, const subscriber& s);
  void remove_contact_keys(lmdb::txn& t, const subscriber& s);
  outcome add_contact_key(lmdb::txn& t, const subscriber& s);
  /// The key remembering a deleted address (email, else phone).
  std::string deleted_key(const subscriber& s) const;

  lmdb::env env_;
  std::shared_mutex resize_lock_;
  lmdb::dbi meta_, accounts_, account_by_email_, account_by_handle_,
      api_tokens_, sessions_, campaigns_, subscribers_, subscriber_keys_,
      contacts_, oauth_states_, mailchimp_connections_, jobs_, job_keys_,
      webhooks_, deliveries_, delivery_keys_, deliveries_pending_;
};

} // namespace ls::store
