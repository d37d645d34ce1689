// UTF-8 helpers shared by the codec sources (internal; no dependencies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ls::utf8 {

/// The replacement character U+FFFD, encoded.
inline constexpr std::string_view replacement = "\xEF\xBF\xBD";

/// Decodes the well-formed UTF-8 sequence at s[i] (i < s.size()) into `cp` and
/// returns its length, or returns 0 when it is not well-formed (truncated,
/// stray continuation byte, overlong form, surrogate, or past U+10FFFF).
inline size_t decode(std::string_view s, size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n > s.size() - i) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
      (n == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
      cp > 0x10FFFF)
    return 0;
  return n;
}

/// Appends `s` to `out`, replacing each byte that does not start a well-formed
/// sequence with U+FFFD.
template <class String>
void append_sanitized(String& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Copy ASCII runs in one go.
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80)
      ++j;
    out.append(s.data() + i, j - i);
    i = j;
    if (i == s.size()) break;
    uint32_t cp;
    if (auto n = decode(s, i, cp); n != 0) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out.append(replacement.data(), replacement.size());
      ++i;
    }
  }
}

} // namespace ls::utf8
