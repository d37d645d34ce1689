// The stored records. Times are microseconds since the Unix epoch; absent
// strings are empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::store {

struct account {
  std::string id; ///< acc_…
  std::string email;
  std::string handle;
  std::string password_hash; ///< argon2id, libsodium's encoded form
  int64_t created_at = 0;
};

/// A browser session; stored under the SHA-256 of its cookie token.
struct session {
  std::string account_id;
  std::string csrf_token;
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

struct field_def {
  std::string key;
  std::string label;
  std::string type; ///< text, email, tel, date, select, checkbox
  bool required = false;
  std::vector<std::string> options; ///< for select
};

struct campaign {
  std::string id; ///< cmp_…
  std::string account_id;
  std::string name;
  std::string slug;
  std::vector<field_def> fields;
  std::vector<std::string> default_tags;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

/// Proof of opt-in: when, from where, through which form.
struct consent {
  int64_t at = 0;
  std::string ip;
  std::string user_agent;
  std::string campaign_id;
};

using field_values = std::vector<std::pair<std::string, std::string>>;

struct subscriber {
  std::string id; ///< sub_…
  std::string account_id;
  std::string email; ///< normalised (lowercase)
  std::string phone; ///< E.164
  std::string name;
  std::string first_name;
  std::string last_name;
  field_values fields;                   ///< sorted by key, unique keys
  std::vector<std::string> tags;         ///< sorted, unique
  std::string source;                    ///< "form", "api"
  std::string campaign_id;               ///< the campaign of the first signup
  std::vector<std::string> campaign_ids; ///< every campaign signed up through
  std::string status = "subscribed";     ///< subscribed | unsubscribed
  int64_t subscribed_at = 0;             ///< first signup, kept on repeats
  int64_t updated_at = 0;
  consent opt_in;
  /// A signup through the public form for this address while it is not
  /// subscribed (or after it was deleted): a request to subscribe again, which
  /// only the person can prove (Mailchimp's confirmation email, or the
  /// creator). `at` is 0 when there is none.
  consent resubscribe_request;

  const std::string* field(std::string_view key) const;
};

/// Bounds on one subscriber, whoever writes it (a stranger through the public
/// form can only add to a known address, so these keep one record small).
struct subscriber_limits {
  static constexpr size_t max_tags = 100;
  static constexpr size_t max_fields = 100;
  static constexpr size_t max_bytes = 64 * 1024; ///< the stored record
};

/// A pending OAuth authorization: stored under the SHA-256 of the random
/// `state`.
struct oauth_state {
  std::string account_id;
  std::string session_hash; ///< the session that started it; empty for
                            ///< API-token callers
  std::string redirect_uri;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int64_t consumed_at =
      0; ///< set once used, so a replay is told apart from a forgery
};

/// An account's Mailchimp connection. The token is sealed (libsodium secretbox)
/// with the key kept outside LMDB; its plaintext never reaches storage.
struct mailchimp_connection {
  std::string account_id;
  std::string status = "connected"; ///< connected | needs_reconnect
  std::string sealed_token;
  std::string dc;
  std::string api_endpoint;
  std::string user_id;
  std::string account_name;
  std::string login_email;
  std::string audience_id;
  std::string audience_name;
  int64_t connected_at = 0;
  int64_t updated_at = 0;
};

/// A count of skipped contacts with up to three example addresses.
struct skip_count {
  uint64_t count = 0;
  std::vector<std::string> examples;
};

/// A sync job (Mailchimp) or a hand-off job (Kit, Klaviyo, HubSpot).
struct sync_job {
  std::string id; ///< job_…
  std::string account_id;
  std::string provider; ///< mailchimp | kit | klaviyo | hubspot
  std::string status =
      "PENDING"; ///< PENDING | RUNNING | COMPLETED | FAILED | CANCELLED
  std::string scope_type = "all"; ///< all | campaign
  std::string scope_campaign_id;
  std::string audience_id;
  std::string audience_name;
  uint32_t attempt = 1;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int64_t updated_at = 0;
  uint64_t total = 0;
  uint64_t processed = 0;
  uint64_t created = 0;
  uint64_t updated = 0;
  uint64_t skipped = 0;
  uint64_t phone_only = 0;
  uint64_t unsubscribed =
      0; ///< unsubscribed on LinkStacked: never sent, not in total
  skip_count must_resubscribe, invalid_email, forgotten, other;
  std::vector<std::string> other_reasons;
  std::vector<std::string> notes;
  std::string error_code;
  std::string error_message;
  /// The subscriber key up to which every batch is acknowledged (resume point).
  std::string cursor;
  bool cancel_requested = false;
  bool since_last_handoff =
      false; ///< hand-off jobs: only subscribers added since the last one
  int64_t since_us = 0;
};

/// An account's webhook endpoint.
struct webhook_endpoint {
  std::string account_id;
  std::string url;
  std::vector<std::string> events; ///< the event types it receives
  std::string sealed_secret;       ///< the raw 32 secret bytes, sealed
  /// After a rotation the previous secret also signs, until previous_until.
  std::string sealed_previous;
  int64_t previous_until = 0;
  std::string status = "active"; ///< active | disabled
  std::string disabled_reason;
  int64_t failing_since = 0; ///< first failure of the current streak; 0: none
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

/// One try at delivering a webhook message.
struct webhook_attempt {
  int64_t at = 0;
  unsigned status = 0; ///< HTTP status; 0 when there was no answer
  std::string error;
  int64_t duration_us = 0;
};

/// A webhook message in the outbox: written in the commit of the change it
/// tells about, then delivered (at least once; `message_id` stays the same).
struct webhook_delivery {
  std::string id; ///< dlv_…
  std::string account_id;
  std::string message_id; ///< msg_…: the webhook-id header
  std::string type;
  std::string subject; ///< e.g. the subscriber id: its messages go in order
  std::string body;    ///< {"type","timestamp","data"}
  int64_t created_at = 0;
  std::string status = "pending"; ///< pending | delivered | failed
  int64_t next_attempt_at = 0;
  std::vector<webhook_attempt> attempts;
};

// Binary codec: one leading version byte per record kind, then the fields.
// decode() reads every version it has ever written (older records get defaults
// for newer fields) and returns false on a corrupt or unknown record.
std::string encode(const account& x);
std::string encode(const session& x);
std::string encode(const campaign& x);
std::string encode(const subscriber& x);
bool decode(std::string_view in, account& x);
bool decode(std::string_view in, session& x);
bool decode(std::string_view in, campaign& x);
bool decode(std::string_view in, subscriber& x);
std::string encode(const oauth_state& x);
std::string encode(const mailchimp_connection& x);
bool decode(std::string_view in, oauth_state& x);
bool decode(std::string_view in, mailchimp_connection& x);
std::string encode(const sync_job& x);
bool decode(std::string_view in, sync_job& x);
std::string encode(const webhook_endpoint& x);
bool decode(std::string_view in, webhook_endpoint& x);
std::string encode(const webhook_delivery& x);
bool decode(std::string_view in, webhook_delivery& x);

} // namespace ls::store
