// The stored records. Times are microseconds since the Unix epoch; absent strings are empty.
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
  field_values fields;           ///< sorted by key, unique keys
  std::vector<std::string> tags; ///< sorted, unique
  std::string source;            ///< "form", "api"
  std::string campaign_id;       ///< the campaign of the first signup
  std::vector<std::string> campaign_ids; ///< every campaign signed up through
  std::string status = "subscribed";     ///< subscribed | unsubscribed
  int64_t subscribed_at = 0;             ///< first signup, kept on repeats
  int64_t updated_at = 0;
  consent opt_in;

  const std::string* field(std::string_view key) const;
};

// Binary codec: one leading version byte per record kind, then the fields. decode() reads every
// version it has ever written (older records get defaults for newer fields) and returns false on
// a corrupt or unknown record.
std::string encode(const account& x);
std::string encode(const session& x);
std::string encode(const campaign& x);
std::string encode(const subscriber& x);
bool decode(std::string_view in, account& x);
bool decode(std::string_view in, session& x);
bool decode(std::string_view in, campaign& x);
bool decode(std::string_view in, subscriber& x);

} // namespace ls::store
