#include "http/codec/validation.hpp"

#include "http/codec/utf8.hpp"

#include <new>
#include <phonenumbers/phonenumberutil.h>

namespace ls::validation {

namespace {

result ok(std::string value) {
  return {std::move(value), {}};
}
result fail(std::string message) {
  return {{}, std::move(message)};
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ldh(char c) {
  return is_alpha(c) || is_digit(c) || c == '-';
}
char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

bool has_non_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

// RFC 5322 atext: what a dot-atom local part may hold besides dots.
bool is_atext(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '/':
  case '=':
  case '?':
  case '^':
  case '_':
  case '`':
  case '{':
  case '|':
  case '}':
  case '~':
    return true;
  default:
    return false;
  }
}

constexpr std::string_view email_example =
    "Enter a valid email address like name@example.com";

// The error for the local part, or empty when it is fine (length checked by the
// caller).
std::string check_local_part(std::string_view local) {
  if (has_non_ascii(local))
    return "The part before @ must use plain ASCII letters (no accents), "
           "digits and symbols like . _ + -";
  for (char c : local) {
    if (c == '.' || is_atext(c)) continue;
    if (c == '"') return "The part before @ cannot contain quotes";
    return std::string("The part before @ cannot contain the character ") + c;
  }
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos)
    return "The part before @ cannot start or end with a dot, or have two "
           "dots in a row";
  return {};
}

// A final label: letters only (2 or more, as every top-level domain), or an IDN
// top-level domain in punycode ("xn--p1ai").
bool is_top_level_label(std::string_view label) {
  if (label.size() > 4 && to_lower(label[0]) == 'x' &&
      to_lower(label[1]) == 'n' && label[2] == '-' && label[3] == '-')
    return true; // the characters and the hyphen rules are checked per label
  if (label.size() < 2) return false;
  for (char c : label)
    if (!is_alpha(c)) return false;
  return true;
}

// The error for the domain, or empty when it is fine.
std::string check_domain(std::string_view domain) {
  if (domain.empty()) return "Enter the domain after @, like example.com";
  if (has_non_ascii(domain))
    return "Write the domain after @ in plain ASCII: international domains "
           "go in their punycode form (xn--...)";
  if (domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return "The domain after @ cannot start or end with a dot, or have two "
           "dots in a row";
  if (domain.find('.') == std::string_view::npos)
    return "Enter the full domain after @, like example.com";
  std::string_view last;
  while (!domain.empty()) {
    auto dot = domain.find('.');
    auto label = domain.substr(0, dot);
    domain = dot == std::string_view::npos ? std::string_view{}
                                           : domain.substr(dot + 1);
    for (char c : label)
      if (!is_ldh(c))
        return "The domain after @ can only contain letters, digits, "
               "hyphens and dots";
    if (label.size() > 63)
      return "Each part of the domain after @ can be at most 63 characters";
    if (label.front() == '-' || label.back() == '-')
      return "A part of the domain after @ cannot start or end with a hyphen";
    last = label;
  }
  if (!is_top_level_label(last))
    return "The domain after @ must end with a top-level domain like .com";
  return {};
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = to_lower(c);
  return out;
}

} // namespace

result email(std::string_view input) {
  auto s = trim(input);
  if (s.empty()) return fail("Enter an email address");
  if (s.size() > 254)
    return fail("An email address can be at most 254 characters");
  for (char c : s) {
    if (is_ascii_space(c))
      return fail("An email address cannot contain spaces");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return fail(std::string(email_example));
  }
  auto at = s.find('@');
  if (at == std::string_view::npos) return fail(std::string(email_example));
  auto local = s.substr(0, at);
  auto domain = s.substr(at + 1);
  if (local.empty())
    return fail("Enter the part before @, like name@example.com");
  if (domain.find('@') != std::string_view::npos) {
    if (local.front() == '"')
      return fail("The part before @ cannot contain quotes");
    return fail("An email address can contain only one @");
  }
  if (local.size() > 64)
    return fail("The part before @ can be at most 64 characters");
  if (auto e = check_local_part(local); !e.empty()) return fail(std::move(e));
  if (auto e = check_domain(domain); !e.empty()) return fail(std::move(e));
  return ok(lowercase(s));
}

result phone(std::string_view input, std::string_view default_region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  constexpr std::string_view example =
      "Enter a valid phone number like +1 415 555 0123";

  auto s = trim(input);
  if (s.empty()) return fail("Enter a phone number");
  // libphonenumber's own cap is 250 bytes; no real number comes near 64.
  if (s.size() > 64) return fail("This phone number is too long");
  if (!is_utf8(s)) return fail(std::string(example));
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return fail(std::string(example));

  // Regions are upper-case ISO 3166 alpha-2 codes; "ZZ" means unknown (then a
  // leading + is required).
  std::string region = "ZZ";
  if (default_region.size() == 2 && is_alpha(default_region[0]) &&
      is_alpha(default_region[1])) {
    region[0] = to_upper(default_region[0]);
    region[1] = to_upper(default_region[1]);
  }

  try {
    const auto* util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    switch (util->Parse(std::string(s), region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      if (s.front() == '+') return fail("Check the country code after +");
      return fail("Add the country code, like +44 for the United Kingdom");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return fail("This phone number is too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return fail("This phone number is too long");
    default:
      return fail(std::string(example));
    }
    if (number.has_extension())
      return fail("Enter the phone number without an extension");
    if (!util->IsValidNumber(number)) {
      switch (util->IsPossibleNumberWithReason(number)) {
      case PhoneNumberUtil::TOO_SHORT:
        return fail("This phone number is too short");
      case PhoneNumberUtil::TOO_LONG:
        return fail("This phone number is too long");
      case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
        return fail("Include the area code in the phone number");
      default:
        return fail("This is not a valid phone number: check the digits "
                    "and the country code");
      }
    }
    std::string out;
    util->Format(number, PhoneNumberUtil::E164, &out);
    return ok(std::move(out));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (...) {
    return fail(std::string(example));
  }
}

result text(std::string_view input, size_t max_bytes, bool allow_tab) {
  auto s = trim(input);
  if (s.size() > max_bytes)
    return fail("This can be at most " + std::to_string(max_bytes) +
                " characters");
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    auto n = utf8::decode(s, i, cp);
    if (n == 0) return fail("This contains characters that are not allowed");
    if ((cp < 0x20 && !(cp == '\t' && allow_tab)) || cp == 0x7F ||
        (cp >= 0x80 && cp <= 0x9F))
      return fail(allow_tab ? "This cannot contain line breaks or control "
                              "characters"
                            : "This cannot contain tabs, line breaks or "
                              "control characters");
    i += n;
  }
  return ok(std::string(s));
}

result iso_date(std::string_view input) {
  constexpr std::string_view example = "Enter a date like 2024-01-31";
  auto s = trim(input);
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return fail(std::string(example));
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!is_digit(s[i])) return fail(std::string(example));
  auto num = [&](size_t pos, size_t len) {
    unsigned v = 0;
    for (size_t k = pos; k < pos + len; ++k)
      v = v * 10 + static_cast<unsigned>(s[k] - '0');
    return v;
  };
  unsigned year = num(0, 4), month = num(5, 2), day = num(8, 2);
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year == 0 || month < 1 || month > 12 || day < 1 ||
      day > days[month - 1] + (month == 2 && leap ? 1 : 0))
    return fail("This date does not exist");
  return ok(std::string(s));
}

bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    auto n = utf8::decode(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

} // namespace ls::validation
