// A subscriber as a Mailchimp batch member, and what Mailchimp's batch answer
// says about them (mailchimp.md §5-§7). Pure functions: no actors, no I/O.
//
// Mapping rules (field names are compared after lowercasing and dropping '_',
// '-', '.' and spaces, so "first_name", "firstName" and "First Name" are one
// key; the subscriber's own columns always win over the creator's custom
// fields):
// - EMAIL: the email column, trimmed and lowercased. None → skipped
//   (phone_only).
// - FNAME: first_name column; else a custom firstName / fname / givenName
//   field; else the first word of the name column; else the first word of a
//   custom name / fullName field.
// - LNAME: last_name column; else a custom lastName / lname / surname /
//   familyName field; else what follows the first word of the name column
//   (or, without one, of a custom name / fullName field).
// - PHONE: the phone column (E.164).
// - COMPANY: custom company / organization / organisation / employer.
// - BIRTHDAY: custom birthday / dob / birthDate / dateOfBirth, through
//   normalize_birthday(); the first alias that parses wins, none → not sent.
// - ADDRESS is never sent: Mailchimp wants a structured address and the forms
//   collect free text (mailchimp.md §7).
// - tags: the subscriber's tags.
// - ip_signup / timestamp_signup: the opt-in record (a valid IP address; the
//   time as "YYYY-MM-DDTHH:MM:SS+00:00").
// Every value has invalid UTF-8 replaced by U+FFFD and control characters by
// spaces, is trimmed, then clipped to 255 bytes on a character boundary. An
// empty value is left out, never sent as "" (which clears the field).
#pragma once

#include "storage/records.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::mapper {

/// One member of a batch subscribe call.
struct member {
  std::string email;  ///< trimmed, lowercased
  std::string status; ///< "subscribed" (batch_body may send "pending")
  /// FNAME, LNAME, PHONE, COMPANY, BIRTHDAY, in that order; only non-empty.
  std::vector<std::pair<std::string, std::string>> merge_fields;
  std::vector<std::string> tags;
  std::string ip_signup, timestamp_signup; ///< empty = not sent
};

enum class skip_reason { none, phone_only, unsubscribed };

/// The member for `s`, or nullopt with `why` set when it must not be sent:
/// any status other than "subscribed" → unsubscribed (checked first, so an
/// unsubscribed phone-only subscriber counts as unsubscribed); no email →
/// phone_only. `why` is none when a member is returned.
std::optional<member> to_member(const store::subscriber& s, skip_reason& why);

/// A birthday as Mailchimp's "MM/DD", or nullopt when it cannot be read
/// without guessing. Accepted: ISO "YYYY-MM-DD" (also with '/' or '.', and an
/// ISO date-time), "YYYYMMDD", numeric "A/B", "A/B/YYYY", "A/B/YY" (with '/',
/// '-' or '.') when the day/month order is clear (one part > 12, or both
/// equal; "03/04" is dropped), and English month names, full or abbreviated,
/// in any case: "March 4", "4 March", "Mar 4th, 1990", "4th of March",
/// "04-Mar-1990". The day must exist in the month (Feb 29 is allowed unless a
/// four-digit year says otherwise).
std::optional<std::string> normalize_birthday(std::string_view input);

/// The first word and the rest (inner whitespace collapsed to one space) of a
/// full name. Whitespace includes no-break and ideographic spaces.
std::pair<std::string, std::string> split_name(std::string_view full);

/// The longest prefix of `s` of at most `max_bytes` bytes that does not cut a
/// UTF-8 sequence in two (an invalid byte counts as a one-byte character).
std::string clip_utf8(std::string_view s, size_t max_bytes = 255);

/// The batch subscribe body of mailchimp.md §6:
/// {"members":[…],"update_existing":true,"sync_tags":false}.
///
/// Without double opt-in every member carries "status":"subscribed", not only
/// "status_if_new": with status_if_new alone an existing unsubscribed or
/// cleaned member would be "updated" silently and stay unsubscribed; asking for
/// "subscribed" makes Mailchimp refuse it with the compliance text, which the
/// sync reports as "must re-subscribe".
/// With double opt-in, members carry only "status_if_new":"pending": new ones
/// get Mailchimp's confirmation mail, and members already subscribed are not
/// sent back to pending (which "status":"pending" would do).
std::string batch_body(const std::vector<member>& members, bool double_optin);

/// A count with up to 3 example email addresses.
struct example_list {
  size_t count = 0;
  std::vector<std::string> examples; ///< at most 3, distinct, non-empty
  /// Counts one; keeps `email` as an example while fewer than 3 are kept.
  void add(std::string email);
};

/// What one batch answer (or several, merged) did.
struct batch_result {
  size_t created = 0, updated = 0;
  example_list must_resubscribe, invalid_email, forgotten, other;
  /// Distinct reasons of the "other" refusals, at most 5. A reason that
  /// starts with the member's address has it replaced by "the contact", so
  /// the same refusal of many members is one reason.
  std::vector<std::string> other_reasons;
  size_t errors() const;
};

/// Parses a batch subscribe answer (HTTP 200 body). Counts come from
/// total_created / total_updated, else from the sizes of new_members /
/// updated_members. Each errors[] item is classified by its `error` text
/// (never by error_code):
/// - "… is in a compliance state …" → must_resubscribe
/// - "… was permanently deleted and cannot be re-imported …" → forgotten
/// - "… looks fake or invalid …", "Please provide a valid email address" →
///   invalid_email
/// - anything else → other, with the reason kept: the error text plus
///   " (FIELD: message)" when the item names a field.
/// nullopt with `error` set when the body is not such an answer.
std::optional<batch_result> classify_batch(std::string_view body,
                                           std::string& error);

/// Human notes for the sync report, one per kind with a count, in the order
/// must re-subscribe, invalid, forgotten, other, phone only; e.g.
/// "12 must re-subscribe in Mailchimp before they can receive emails (e.g.
/// a@x.com, b@y.org, c@z.net, …)". The ", …" appears only when the count
/// exceeds the examples shown; without examples there is no "(e.g. …)".
std::vector<std::string> skip_notes(const batch_result& totals,
                                    size_t phone_only);

/// Adds `from` into `into`: counts add up; examples and reasons keep the first
/// ones (3 and 5 at most, distinct).
void merge(batch_result& into, const batch_result& from);

} // namespace ls::mapper
