// Email addresses and free text (http/codec/validation.hpp: email, text), as
// every signup and every field reader uses them.
// Properties: an accepted email is lowercase, at most 254 bytes (64 before the
// @), one @, a dot-atom local part and a domain of LDH labels ending in a
// letters-only or xn-- label, and a fixed point; letter case and surrounding
// whitespace change nothing but the case of the answer. text() trims, keeps
// its bound, refuses controls and invalid UTF-8, and is a fixed point.
#include "fuzz.hpp"
#include "http/codec/validation.hpp"

#include <fuzzer/FuzzedDataProvider.h>

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

bool ldh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  auto max = fdp.ConsumeIntegralInRange<size_t>(0, 120);
  bool tab = fdp.ConsumeBool();
  auto in = fdp.ConsumeRemainingBytesAsString();

  auto e = ls::validation::email(in);
  FUZZ_CHECK(e.ok() != e.value.empty() && e.ok() == e.error.empty(), in);
  if (e.ok()) {
    auto& v = e.value;
    FUZZ_CHECK(v.size() <= 254, in);
    auto at = v.find('@');
    FUZZ_CHECK(at != std::string::npos && at >= 1 && at <= 64 &&
                   v.find('@', at + 1) == std::string::npos,
               in);
    auto local = std::string_view(v).substr(0, at);
    auto domain = std::string_view(v).substr(at + 1);
    FUZZ_CHECK(local.front() != '.' && local.back() != '.' &&
                   local.find("..") == std::string_view::npos,
               in);
    for (char c : local)
      FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '"' && c != '(' && c != ')' &&
                     c != ',' && c != ':' && c != ';' && c != '<' && c != '>' &&
                     c != '[' && c != '\\' && c != ']' &&
                     !(c >= 'A' && c <= 'Z'),
                 in);
    size_t labels = 0;
    std::string_view last;
    for (std::string_view rest = domain;;) {
      auto dot = rest.find('.');
      auto label = rest.substr(0, dot);
      FUZZ_CHECK(!label.empty() && label.size() <= 63 && label.front() != '-' &&
                     label.back() != '-',
                 in);
      for (char c : label)
        FUZZ_CHECK(ldh(c), in);
      ++labels;
      last = label;
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    FUZZ_CHECK(labels >= 2, in);
    bool letters = last.size() >= 2;
    for (char c : last)
      letters = letters && c >= 'a' && c <= 'z';
    FUZZ_CHECK(letters || (last.size() > 4 && last.starts_with("xn--")), in);
    auto again = ls::validation::email(v);
    FUZZ_CHECK(again.ok() && again.value == v, in);
  }
  auto up = ls::validation::email(upper(in));
  FUZZ_CHECK(up.ok() == e.ok() && up.value == e.value, in);
  auto padded = ls::validation::email("\t " + in + " \n");
  FUZZ_CHECK(padded.ok() == e.ok() && padded.value == e.value, in);

  auto t = ls::validation::text(in, max, tab);
  FUZZ_CHECK(t.ok() == t.error.empty(), in);
  if (t.ok()) {
    FUZZ_CHECK(t.value.size() <= max && ls::validation::is_utf8(t.value), in);
    FUZZ_CHECK(std::string_view(in).find(t.value) != std::string_view::npos,
               in);
    for (unsigned char c : t.value)
      FUZZ_CHECK(c >= 0x20 ? c != 0x7f : (tab && c == '\t'), in);
    FUZZ_CHECK(t.value.empty() ||
                   (t.value.front() != ' ' && t.value.back() != ' '),
               in);
    auto again = ls::validation::text(t.value, max, tab);
    FUZZ_CHECK(again.ok() && again.value == t.value, in);
  }
  return 0;
}
