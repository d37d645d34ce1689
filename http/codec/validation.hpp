// Validation and normalisation of what subscribers type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ls::validation {

/// An outcome: the normalised value, or a message for the user.
struct result {
  std::string value; ///< normalised, when ok
  std::string error; ///< human message, when !ok
  bool ok() const { return error.empty(); }
};

/// Email per RFC 5321 limits and what Mailchimp accepts: trimmed; at most 254
/// octets in all and 64 in the local part; the local part printable ASCII
/// (dot-atom: letters, digits and !#$%&'*+/=?^_`{|}~- with single dots, not
/// at either end; no quoted local parts); the domain has at least two labels of
/// letters, digits and hyphens (1..63 each, no leading or trailing hyphen), a
/// final label of letters, IDN domains as punycode (xn--). Normalised to
/// lowercase. The final label is 2+ ASCII letters or a punycode label
/// ("xn--p1ai"), so "a@b.c0m" and IP literals are refused; non-ASCII anywhere
/// is refused (no IDNA conversion here).
result email(std::string_view input);

/// A phone number normalised to E.164 ("+14155550123") with libphonenumber.
/// Numbers without a leading + are read in `default_region` (ISO 3166 alpha-2,
/// e.g. "US"). Refused when libphonenumber cannot parse it or says it is not a
/// valid number. Input over 64 bytes (after trimming), control characters,
/// invalid UTF-8 and numbers with an extension are refused. An empty or
/// malformed region means "none": then only numbers with a leading + are
/// accepted.
result phone(std::string_view input, std::string_view default_region = "US");

/// Trims ASCII whitespace at both ends, and refuses control characters (except
/// TAB in free text when `allow_tab`) and invalid UTF-8. `max_bytes` bounds the
/// trimmed length. Control characters are C0 (so also CR and LF), DEL and C1
/// (U+0080..U+009F). Empty text is ok.
result text(std::string_view input, size_t max_bytes, bool allow_tab = false);

/// An ISO date "YYYY-MM-DD" that exists in the (proleptic Gregorian) calendar,
/// years 0001..9999; surrounding ASCII whitespace is trimmed.
result iso_date(std::string_view input);

/// true for valid UTF-8.
bool is_utf8(std::string_view s);

} // namespace ls::validation
