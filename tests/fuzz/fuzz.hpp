// Helpers shared by the libFuzzer targets of this folder (see scripts/fuzz).
// FUZZ_CHECK states a property: when it does not hold, the input is printed
// and the process aborts, which libFuzzer reports as a crash and saves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ls::fuzz {

/// `s` with everything but printable ASCII as \xNN, for failure messages.
inline std::string shown(std::string_view s, size_t max = 400) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

[[noreturn]] inline void failed(const char* what, const char* file, int line,
                                std::string_view detail) {
  std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  %s\n", file, line,
               what, shown(detail).c_str());
  std::abort();
}

} // namespace ls::fuzz

/// A property of the code under test; `detail` (a string) is printed when it
/// fails.
#define FUZZ_CHECK(cond, detail)                                               \
  do {                                                                         \
    if (!(cond)) ::ls::fuzz::failed(#cond, __FILE__, __LINE__, (detail));      \
  } while (0)

/// The input as text.
#define FUZZ_INPUT std::string_view(reinterpret_cast<const char*>(data), size)
