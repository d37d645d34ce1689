// The mapper's birthday normaliser (actors/mapper.hpp: normalize_birthday).
// Properties: an answer is "MM/DD" of a day that exists; letter case and
// surrounding spaces change nothing; the answer read as an ISO date gives
// itself; a numeric "A/B[/Y]" and its swap "B/A[/Y]" give the same answer
// (the order is only ever deduced, never guessed), and with both parts 1..12
// and different there is no answer.
#include "actors/mapper.hpp"
#include "fuzz.hpp"

#include <optional>

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string cased(std::string_view s, bool upper) {
  std::string out(s);
  for (auto& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

struct numeric {
  std::string a, b, rest; ///< "A", "B", and "/Y" (or "")
  char sep;
};

/// "A/B" or "A/B/Y" with 1-2 digit A and B, one separator ('/', '-' or '.').
std::optional<numeric> numeric_form(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && is_digit(s[i]))
      ++i;
    return std::string(s.substr(start, i - start));
  };
  numeric n;
  n.a = digits();
  if (n.a.empty() || n.a.size() > 2 || i >= s.size()) return std::nullopt;
  n.sep = s[i++];
  if (n.sep != '/' && n.sep != '-' && n.sep != '.') return std::nullopt;
  n.b = digits();
  if (n.b.empty() || n.b.size() > 2) return std::nullopt;
  if (i == s.size()) return n;
  if (s[i] != n.sep) return std::nullopt;
  ++i;
  auto y = digits();
  if ((y.size() != 2 && y.size() != 4) || i != s.size()) return std::nullopt;
  n.rest = std::string(1, n.sep) + y;
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;
  auto r = ls::mapper::normalize_birthday(in);
  if (r) {
    FUZZ_CHECK(r->size() == 5 && (*r)[2] == '/' && is_digit((*r)[0]) &&
                   is_digit((*r)[1]) && is_digit((*r)[3]) && is_digit((*r)[4]),
               std::string(in) + " -> " + *r);
    int m = ((*r)[0] - '0') * 10 + ((*r)[1] - '0');
    int d = ((*r)[3] - '0') * 10 + ((*r)[4] - '0');
    static constexpr int days[] = {31, 29, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
    FUZZ_CHECK(m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1],
               std::string(in) + " -> " + *r);
    auto iso = "2000-" + r->substr(0, 2) + "-" + r->substr(3, 2);
    FUZZ_CHECK(ls::mapper::normalize_birthday(iso) == r, iso);
  }
  FUZZ_CHECK(ls::mapper::normalize_birthday(cased(in, true)) == r, in);
  FUZZ_CHECK(ls::mapper::normalize_birthday(cased(in, false)) == r, in);
  FUZZ_CHECK(
      ls::mapper::normalize_birthday(" \t" + std::string(in) + "  ") == r, in);
  if (auto n = numeric_form(in)) {
    auto swapped = n->b + n->sep + n->a + n->rest;
    FUZZ_CHECK(ls::mapper::normalize_birthday(swapped) == r,
               std::string(in) + " / " + swapped);
    int a = std::stoi(n->a), b = std::stoi(n->b);
    if (a >= 1 && a <= 12 && b >= 1 && b <= 12 && a != b)
      FUZZ_CHECK(!r, std::string(in) + " -> " + r.value_or(""));
  }
  return 0;
}
