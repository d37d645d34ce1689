#include "http/codec/time.hpp"

#include <chrono>

namespace ls::timefmt {

namespace {

constexpr int64_t us_per_second = 1'000'000;
constexpr int64_t seconds_per_day = 86'400;

// Floor division (rounds toward negative infinity); b > 0.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil {
  int64_t y;
  unsigned m;
  unsigned d;
};

// The date of a day count since 1970-01-01 (inverse of days_from_civil).
constexpr civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(11017).y == 2000);

constexpr bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Appends `v` zero-padded to `width` digits (v >= 0).
void append_padded(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width)
    buf[n++] = '0';
  while (n > 0)
    out.push_back(buf[--n]);
}

// A cursor over the input for parse_rfc3339.
struct reader {
  std::string_view s;
  size_t i = 0;

  // Exactly `n` digits.
  bool digits(size_t n, unsigned& v) {
    if (s.size() - i < n) return false;
    v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    i += n;
    return true;
  }

  bool literal(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }

  bool either(char a, char b) { return literal(a) || literal(b); }
  bool at_end() const { return i == s.size(); }
};

} // namespace

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339(int64_t us) {
  // Floor division without multiplying back (which could overflow near
  // INT64_MIN).
  const int64_t secs = floor_div(us, us_per_second);
  int64_t sub_us = us % us_per_second;
  if (sub_us < 0) sub_us += us_per_second; // 0..999999
  const int64_t days = floor_div(secs, seconds_per_day);
  int64_t sod = secs % seconds_per_day;
  if (sod < 0) sod += seconds_per_day; // 0..86399
  const civil c = civil_from_days(days);

  std::string out;
  out.reserve(32);
  // Years outside 0000..9999 cannot be written in RFC 3339; they are written
  // with more digits (and a sign) rather than wrapped, so the output stays
  // truthful.
  if (c.y < 0) {
    out.push_back('-');
    append_padded(out, static_cast<uint64_t>(-c.y), 4);
  } else {
    append_padded(out, static_cast<uint64_t>(c.y), 4);
  }
  out.push_back('-');
  append_padded(out, c.m, 2);
  out.push_back('-');
  append_padded(out, c.d, 2);
  out.push_back('T');
  append_padded(out, static_cast<uint64_t>(sod / 3600), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(sod / 60 % 60), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(sod % 60), 2);
  out.push_back('.');
  append_padded(out, static_cast<uint64_t>(sub_us / 1000), 3);
  out.push_back('Z');
  return out;
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  // The longest sensible input is ~35 bytes; allow long fractions but bound the
  // work.
  if (s.size() > 64) return std::nullopt;
  reader r{s};
  unsigned year, month, day, hour, minute, second;
  if (!r.digits(4, year) || !r.literal('-') || !r.digits(2, month) ||
      !r.literal('-') || !r.digits(2, day) || !r.either('T', 't') ||
      !r.digits(2, hour) || !r.literal(':') || !r.digits(2, minute) ||
      !r.literal(':') || !r.digits(2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 59)
    return std::nullopt;

  int64_t fraction_us = 0;
  if (r.literal('.')) {
    size_t count = 0;
    while (!r.at_end() && s[r.i] >= '0' && s[r.i] <= '9') {
      if (count < 6) // digits past microseconds are truncated
        fraction_us = fraction_us * 10 + (s[r.i] - '0');
      ++count;
      ++r.i;
    }
    if (count == 0) return std::nullopt;
    for (; count < 6; ++count)
      fraction_us *= 10;
  }

  int64_t offset_s = 0;
  if (!r.either('Z', 'z')) {
    int sign;
    if (r.literal('+'))
      sign = 1;
    else if (r.literal('-'))
      sign = -1;
    else
      return std::nullopt;
    unsigned oh, om;
    if (!r.digits(2, oh) || !r.literal(':') || !r.digits(2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset_s = sign * static_cast<int64_t>(oh * 3600 + om * 60);
  }
  if (!r.at_end()) return std::nullopt;

  const int64_t secs = days_from_civil(year, month, day) * seconds_per_day +
                       hour * 3600 + minute * 60 + second - offset_s;
  return secs * us_per_second + fraction_us;
}

} // namespace ls::timefmt
