// Private to the Mailchimp simulator (http/sim/*.cpp): its state, and the
// helpers its translation units share. Every function taking a `state&` expects
// the caller to hold the simulator's mutex.
#pragma once

#include "http/codec/html.hpp"
#include "http/codec/json.hpp"
#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ls::mcsim::detail {

using clock = std::chrono::steady_clock;

// -- state
// ---------------------------------------------------------------------

struct app {
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> redirect_uris;
};

struct user {
  std::string login;
  std::string dc;
  int64_t user_id = 0;
  std::string account_id; ///< hex, as GET /3.0/ shows it
  std::string account_name;
  std::string email; ///< the login email
  std::string member_since;
  uint64_t token_epoch =
      0; ///< bumped by revoke-tokens (see options::token_key)
};

struct auth_code {
  std::string client_id;
  std::string redirect_uri;
  std::string login;
  clock::time_point expires;
};

struct merge_field {
  int merge_id = 0;
  std::string tag;
  std::string name;
  std::string type; ///< text, number, address, phone, date, birthday, url,
                    ///< dropdown, radio, zip
  bool required = false;
  int display_order = 0;
  std::vector<std::string> choices; ///< dropdown and radio
};

/// Internal member statuses: subscribed, unsubscribed, cleaned, pending,
/// transactional, plus "complained" (reads as unsubscribed) and "forgotten"
/// (permanently deleted: invisible to the API, refuses re-import).
struct member {
  std::string hash;
  std::string email;
  std::string status;
  std::string unique_email_id;
  int64_t web_id = 0;
  std::map<std::string, std::string>
      merge;                 ///< tag → serialized JSON value (absent = "")
  std::vector<int64_t> tags; ///< tag ids, in the order added
  std::string email_type = "html";
  std::string ip_signup, timestamp_signup, ip_opt, timestamp_opt;
  std::string language;
  bool vip = false;
  std::string last_changed;
  std::string source = "API - Generic";
};

struct contact_info {
  std::string company, address1, address2, city, state, zip, country, phone;
};

struct campaign_defaults {
  std::string from_name, from_email, subject, language;
};

struct audience {
  std::string id; ///< 10 lowercase hex characters
  int64_t web_id = 0;
  std::string owner; ///< user login
  std::string name;
  bool double_optin = false;
  std::string date_created;
  contact_info contact;
  std::string permission_reminder;
  campaign_defaults defaults;
  bool email_type_option = false;
  bool use_archive_bar = false;
  std::string notify_on_subscribe, notify_on_unsubscribe;
  std::string visibility = "pub";
  std::vector<merge_field> fields;
  int next_merge_id = 1;
  std::vector<std::string> order; ///< member hashes, in the order added
  std::unordered_map<std::string, member> members;
  std::vector<std::pair<int64_t, std::string>>
      tags; ///< the audience's tags: id, name
  std::string last_sub_date, last_unsub_date;
};

struct state {
  std::map<std::string, app> apps;
  std::vector<user>
      users; ///< in the order created; the first is the approve page's default
  std::unordered_map<std::string, std::string> tokens; ///< access token → login
  std::unordered_map<std::string, auth_code> codes;
  std::vector<std::string> list_order;
  std::unordered_map<std::string, audience> lists;
  int64_t next_tag_id = 0;
  int64_t next_web_id = 0;
  std::string base_url; ///< empty: derived from the request's Host
  std::string token_key;
  clock::duration code_lifetime = std::chrono::seconds(30);

  user* find_user(std::string_view login);
  audience* find_list(std::string_view id);
  /// The login owning `token`, or nullptr.
  const std::string* token_owner(const std::string& token);
  /// A new access token for `login`.
  std::string issue_token(const std::string& login);
};

// -- helpers (util.cpp)
// ------------------------------------------------------------

std::string random_hex(size_t chars);
int64_t random_number(int64_t lo, int64_t hi);
std::string uuid4();
std::string md5_hex(std::string_view data);
std::string hmac_hex(std::string_view key, std::string_view data);
std::string lower(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
/// Mailchimp's time format, "2024-05-01T12:00:00+00:00".
std::string now_iso();
/// The subscriber hash: MD5 of the trimmed, lowercased address.
std::string subscriber_hash(std::string_view email);
bool valid_email_syntax(std::string_view email);
/// Addresses Mailchimp refuses as "looks fake or invalid" (example.com and the
/// like).
bool looks_fake(std::string_view email);
/// Why `uri` cannot be an OAuth redirect URI ("" when it can): a phrase that
/// completes "must be an absolute http or https URL, ...". A redirect URI has
/// the scheme http or https, a host, an optional port, no user info, no
/// fragment, and only printable ASCII. On success `origin`, when given, is set
/// to its origin ("http://localhost:3000": scheme and host lowercased).
std::string redirect_uri_problem(std::string_view uri,
                                 std::string* origin = nullptr);
/// Standard base64 with padding, as CSP hash sources are written.
std::string base64(std::string_view bytes);
/// The first value of `key` in a query string (decoded), if any.
std::optional<std::string> query_param(std::string_view query,
                                       std::string_view key);
/// count/offset of a collection: count defaults to 10 and is cut to 1000.
void paging(std::string_view query, size_t& count, size_t& offset);

/// A Mailchimp error: application/problem+json with type, title, status,
/// detail, instance and X-Request-Id = instance; `errors` when given.
http::response
mc_problem(unsigned status, std::string_view title, std::string_view detail,
           const std::vector<std::pair<std::string, std::string>>& errors = {});
http::response json_response(unsigned status, std::string body);
http::response not_found();
http::response json_parse_error();
http::response
invalid_resource(const std::vector<std::pair<std::string, std::string>>& errors,
                 std::string_view detail = {});

// -- JSON input
// ------------------------------------------------------------------

/// A parsed JSON body. Keep it alive while its elements are used.
struct json_doc {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  /// false on malformed JSON (or an empty body when !allow_empty).
  bool parse(std::string_view body);
};

std::optional<std::string_view> get_string(simdjson::dom::element obj,
                                           std::string_view key);
std::optional<bool> get_bool(simdjson::dom::element obj, std::string_view key);
std::optional<int64_t> get_int(simdjson::dom::element obj,
                               std::string_view key);
std::optional<simdjson::dom::element> get_field(simdjson::dom::element obj,
                                                std::string_view key);
bool is_object(simdjson::dom::element e);
bool is_array(simdjson::dom::element e);

// -- the surfaces
// ------------------------------------------------------------------------

/// /oauth2/… (the caller has applied faults and will apply latency).
http::response oauth_request(state& st, const http::request& req);

/// /3.0/… for an authenticated user.
http::response api_request(state& st, const user& u, const http::request& req);

/// Member statuses the control surface may seed.
bool seedable_status(std::string_view s);

/// Writes a member as GET /3.0/lists/{id}/members/{hash} answers it.
void write_member(json::writer& w, const audience& a, const member& m);
/// Writes a member as GET /_sim/lists/{id}/members shows it (internal status,
/// tag names).
void write_sim_member(json::writer& w, const audience& a, const member& m);
/// Stores a member as the control surface seeds it ({email_address, status,
/// merge_fields?, tags?}); returns an error message, or "" on success.
std::string seed_member(state& st, audience& a, simdjson::dom::element input);

/// Creates an audience with the default merge fields (FNAME, LNAME, ADDRESS,
/// PHONE).
audience& create_audience(state& st, const std::string& owner, std::string name,
                          std::string id = {});
/// Adds a merge field (or updates the one with this tag).
merge_field& add_merge_field(audience& a, std::string tag, std::string name,
                             std::string type, bool required = false);
/// The id of the audience's tag called `name` (case-insensitive), created when
/// absent.
int64_t tag_id(state& st, audience& a, std::string_view name);
std::string_view tag_name(const audience& a, int64_t id);

} // namespace ls::mcsim::detail
