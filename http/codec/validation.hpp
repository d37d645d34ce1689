// Validation and normalisation of what subscribers type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ls::validation {

/// An outcome: the normalised value, or a message for the user.
struct result {
  std::string value;   ///< normalised, when ok
  std::string error;   ///< human message, when !ok
  bool ok() const { return error.empty(); }
};

/// Email per RFC 5321 limits and what Mailchimp accepts: trimmed; at most 254 octets in all and
/// 64 in the local part; the local part printable ASCII (dot-atom: letters, digits and
/// !#$%&'*+/=?^_`{|}~- with single dots, not at either end; no quoted local parts); the domain
/// has at least two labels of letters, digits and hyphens (1..63 each, no leading or trailing
/// hyphen), a final label of letters, IDN domains as punycode (xn--). Normalised to lowercase.
result email(std::string_view input);

/// A phone number normalised to E.164 ("+14155550123") with libphonenumber. Numbers without a
/// leading + are read in `default_region` (ISO 3166 alpha-2, e.g. "US"). Refused when
/// libphonenumber cannot parse it or says it is not a valid number.
result phone(std::string_view input, std::string_view default_region = "US");

/// Trims ASCII whitespace at both ends, and refuses control characters (except TAB in free text
/// when `allow_tab`) and invalid UTF-8. `max_bytes` bounds the trimmed length.
result text(std::string_view input, size_t max_bytes, bool allow_tab = false);

/// An ISO date "YYYY-MM-DD" that exists in the calendar.
result iso_date(std::string_view input);

/// true for valid UTF-8.
bool is_utf8(std::string_view s);

} // namespace ls::validation
