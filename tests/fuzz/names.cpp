// The mapper's name normalisers (actors/mapper.hpp: split_name, clip_utf8).
// Properties: the first word has no whitespace (Unicode spaces included); the
// rest is words joined by single spaces; splitting "first rest" again gives
// the same pair; nothing but whitespace is lost. clip_utf8 gives the longest
// prefix within the limit that ends on a character boundary.
#include "actors/mapper.hpp"
#include "fuzz.hpp"
#include "http/codec/utf8.hpp"

#include <algorithm>
#include <fuzzer/FuzzedDataProvider.h>

namespace {

// The whitespace of mapper.hpp: ASCII, no-break, the U+2000 block, narrow
// no-break, medium mathematical and ideographic spaces.
bool is_space_cp(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

/// The characters of `s` (an invalid byte is one), whitespace left out.
std::string without_spaces(std::string_view s, bool& had_space) {
  std::string out;
  had_space = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    auto n = ls::utf8::decode(s, i, cp);
    if (n != 0 && is_space_cp(cp)) {
      had_space = true;
    } else {
      out.append(s.substr(i, n == 0 ? 1 : n));
    }
    i += n == 0 ? 1 : n;
  }
  return out;
}

/// The boundaries of `s`: where each character (or invalid byte) starts.
size_t last_boundary_within(std::string_view s, size_t max) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    auto n = ls::utf8::decode(s, i, cp);
    if (n == 0) n = 1;
    if (i + n > max) break;
    i += n;
  }
  return i;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  auto max = fdp.ConsumeIntegralInRange<size_t>(0, 300);
  auto s = fdp.ConsumeRemainingBytesAsString();

  auto [first, rest] = ls::mapper::split_name(s);
  bool space = false;
  FUZZ_CHECK(without_spaces(first, space) == first && !space, s);
  FUZZ_CHECK(rest.empty() || (rest.front() != ' ' && rest.back() != ' '), s);
  FUZZ_CHECK(rest.find("  ") == std::string::npos, s);
  // Only ' ' separates the words of the rest.
  for (std::string_view words = rest; !words.empty();) {
    auto word = words.substr(0, words.find(' '));
    FUZZ_CHECK(!word.empty() && without_spaces(word, space) == word && !space,
               s + " -> [" + first + "][" + rest + "]");
    words.remove_prefix(std::min(words.size(), word.size() + 1));
  }
  FUZZ_CHECK(!first.empty() || rest.empty(), s);
  bool ignored;
  FUZZ_CHECK(without_spaces(first, ignored) + without_spaces(rest, ignored) ==
                 without_spaces(s, ignored),
             s + " -> [" + first + "][" + rest + "]");
  auto again = ls::mapper::split_name(first + (rest.empty() ? "" : " ") + rest);
  FUZZ_CHECK(again.first == first && again.second == rest,
             s + " -> [" + first + "][" + rest + "]");

  auto clipped = ls::mapper::clip_utf8(s, max);
  FUZZ_CHECK(clipped.size() <= max || s.size() <= max, s);
  FUZZ_CHECK(std::string_view(s).starts_with(clipped), s);
  if (s.size() <= max)
    FUZZ_CHECK(clipped == s, s);
  else
    FUZZ_CHECK(clipped.size() == last_boundary_within(s, max),
               s + " max " + std::to_string(max));
  return 0;
}
