// Phone numbers (http/codec/validation.hpp: phone), the normaliser used on
// signup and by the mapper's PHONE.
// Properties: never throws; an answer is "+" and digits (country code first);
// the answer is a fixed point (read again, with or without a
// region, it is itself); surrounding ASCII whitespace changes nothing; a
// refusal always says why.
#include "fuzz.hpp"
#include "http/codec/validation.hpp"

#include <fuzzer/FuzzedDataProvider.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  static const char* regions[] = {"US", "GB", "de", "FR", "IN", "BR",
                                  "ZZ", "",   "U1", "JP", "IT"};
  std::string region = fdp.PickValueInArray(regions);
  auto in = fdp.ConsumeRemainingBytesAsString();
  std::string shown = region + ": " + in;

  ls::validation::result r;
  try {
    r = ls::validation::phone(in, region);
  } catch (...) {
    FUZZ_CHECK(false, shown); // phone() must answer, never throw
  }
  if (!r.ok()) {
    FUZZ_CHECK(r.value.empty() && !r.error.empty(), shown);
  } else {
    auto& v = r.value;
    // E.164 allows 15 digits, but libphonenumber's metadata has longer
    // numbers (Germany: +49 and up to 15 more), and its judgment is kept.
    FUZZ_CHECK(v.size() >= 3 && v.size() <= 21 && v[0] == '+' && v[1] != '0',
               shown + " -> " + v);
    for (size_t i = 1; i < v.size(); ++i)
      FUZZ_CHECK(v[i] >= '0' && v[i] <= '9', shown + " -> " + v);
    auto again = ls::validation::phone(v, "ZZ");
    FUZZ_CHECK(again.ok() && again.value == v,
               shown + " -> " + v + " -> " + again.value + again.error);
    auto with_region = ls::validation::phone(v, region);
    FUZZ_CHECK(with_region.ok() && with_region.value == v, shown + " -> " + v);
  }
  if (in.size() < 60) {
    auto padded = ls::validation::phone(" \t" + in + "\r\n", region);
    FUZZ_CHECK(padded.value == r.value && padded.ok() == r.ok(), shown);
  }
  return 0;
}
