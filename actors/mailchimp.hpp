// Mailchimp's wire formats (OAuth and the Marketing API), as pure functions:
// what to send and how to read what comes back. No actors, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::mailchimp {

/// Where Mailchimp is: the OAuth host and the API base ("{dc}" replaced per
/// account).
struct endpoints {
  std::string oauth_base; ///< e.g. "https://login.mailchimp.com"
  std::string api_base;   ///< e.g. "https://{dc}.api.mailchimp.com/3.0"
  std::string api_for(std::string_view dc) const;
};

/// The browser redirect to Mailchimp's approve page.
std::string authorize_url(const endpoints& e, std::string_view client_id,
                          std::string_view redirect_uri,
                          std::string_view state);

/// The form body of the token exchange.
std::string token_request_body(std::string_view client_id,
                               std::string_view client_secret,
                               std::string_view redirect_uri,
                               std::string_view code);

/// The access token from the token answer, or nullopt (with `error` from the
/// answer).
std::optional<std::string> parse_token(unsigned status, std::string_view body,
                                       std::string& error);

struct metadata {
  std::string dc;
  std::string api_endpoint;
  std::string user_id;
  std::string account_name;
  std::string login_email;
};

/// The /oauth2/metadata answer (ids may be strings or numbers).
std::optional<metadata> parse_metadata(std::string_view body,
                                       std::string& error);

struct audience {
  std::string id;
  std::string name;
  uint64_t member_count = 0;
  bool double_optin = false;
};

struct audience_page {
  std::vector<audience> items;
  uint64_t total_items = 0;
};

/// GET /lists answer.
std::optional<audience_page> parse_lists(std::string_view body,
                                         std::string& error);
/// One list (GET /lists/{id} or the POST /lists answer).
std::optional<audience> parse_list(std::string_view body, std::string& error);

/// The contact block of the account (GET /3.0/ answer) that a new audience
/// needs.
struct contact {
  std::string company, address1, address2, city, state, zip, country;
};
std::optional<contact> parse_account_contact(std::string_view body,
                                             std::string& error);

/// POST /lists body for a new audience.
std::string create_list_body(std::string_view name, const contact& c,
                             std::string_view from_name,
                             std::string_view from_email);

/// The human detail of a Mailchimp problem answer ("detail", else "title"), or
/// a fallback.
std::string problem_detail(unsigned status, std::string_view body);

} // namespace ls::mailchimp
