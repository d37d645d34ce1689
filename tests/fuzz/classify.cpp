// The Mailchimp batch answer classifier (actors/mapper.hpp: classify_batch,
// merge, skip_notes).
// Properties: never throws; a refusal says why; every item of "errors" is
// counted in exactly one kind; counts come from total_created/total_updated
// when they are numbers; examples are at most 3, distinct, non-empty; reasons
// at most 5, distinct, clean (valid UTF-8, no controls, at most 255 bytes);
// merging adds counts and keeps the lists' bounds; one note per kind with a
// count, each valid UTF-8.
#include "actors/mapper.hpp"
#include "fuzz.hpp"
#include "http/codec/validation.hpp"

#include <simdjson.h>

namespace {

void check_examples(const ls::mapper::example_list& l, std::string_view in) {
  FUZZ_CHECK(l.examples.size() <= 3 && l.examples.size() <= l.count, in);
  for (size_t i = 0; i < l.examples.size(); ++i) {
    FUZZ_CHECK(!l.examples[i].empty() && l.examples[i].size() <= 255, in);
    for (size_t j = 0; j < i; ++j)
      FUZZ_CHECK(l.examples[i] != l.examples[j], in);
  }
}

void check_result(const ls::mapper::batch_result& r, std::string_view in) {
  check_examples(r.must_resubscribe, in);
  check_examples(r.invalid_email, in);
  check_examples(r.forgotten, in);
  check_examples(r.other, in);
  FUZZ_CHECK(r.other_reasons.size() <= 5, in);
  FUZZ_CHECK(r.other_reasons.empty() == (r.other.count == 0), in);
  for (size_t i = 0; i < r.other_reasons.size(); ++i) {
    auto& reason = r.other_reasons[i];
    FUZZ_CHECK(!reason.empty() && reason.size() <= 255 &&
                   ls::validation::text(reason, 255).ok(),
               in);
    for (size_t j = 0; j < i; ++j)
      FUZZ_CHECK(reason != r.other_reasons[j], in);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;
  std::string error;
  std::optional<ls::mapper::batch_result> r;
  try {
    r = ls::mapper::classify_batch(in, error);
  } catch (...) {
    FUZZ_CHECK(false, in); // an answer is classified or refused, never thrown
  }
  if (!r) {
    FUZZ_CHECK(!error.empty(), in);
    return 0;
  }
  check_result(*r, in);

  // Counts, read independently.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  FUZZ_CHECK(!parser.parse(in.data(), in.size()).get(root), in);
  simdjson::dom::array errors;
  size_t items = 0;
  if (!root["errors"].get(errors)) items = errors.size();
  FUZZ_CHECK(r->errors() == items, in);
  uint64_t total = 0;
  if (!root["total_created"].get(total)) FUZZ_CHECK(r->created == total, in);
  if (!root["total_updated"].get(total)) FUZZ_CHECK(r->updated == total, in);

  // Merging.
  ls::mapper::batch_result sum;
  ls::mapper::merge(sum, *r);
  ls::mapper::merge(sum, *r);
  check_result(sum, in);
  FUZZ_CHECK(sum.created == 2 * r->created && sum.updated == 2 * r->updated &&
                 sum.errors() == 2 * r->errors(),
             in);
  FUZZ_CHECK(sum.other_reasons == r->other_reasons, in);
  FUZZ_CHECK(sum.must_resubscribe.examples == r->must_resubscribe.examples, in);

  // Notes.
  for (size_t phone_only : {size_t{0}, size_t{1}, size_t{7}}) {
    auto notes = ls::mapper::skip_notes(sum, phone_only);
    size_t kinds = (sum.must_resubscribe.count > 0) +
                   (sum.invalid_email.count > 0) + (sum.forgotten.count > 0) +
                   (sum.other.count > 0) + (phone_only > 0);
    FUZZ_CHECK(notes.size() == kinds, in);
    for (auto& n : notes)
      FUZZ_CHECK(!n.empty() && ls::validation::is_utf8(n), in);
  }
  return 0;
}
