// application/x-www-form-urlencoded: http/codec/form.hpp (percent_decode,
// percent_encode, parse) and the form body reader of the public subscribe
// endpoint (actors/routes/input.hpp: parse_form).
// Properties: encode then decode is the identity; parsed pairs encoded again
// parse to the same pairs; parse_form succeeds exactly when form::parse does
// (but for a key given both as k=v and k[i]=v, which it refuses) and gives the
// shape a JSON body would have (unique keys; `k=v` and `k[]=v` a
// string or an array of strings; `k[i]=v` an object of those), holding every
// pair exactly once.
#include "http/codec/form.hpp"

#include "actors/routes/input.hpp"
#include "fuzz.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace {

using ls::api::value;

bool unique_keys(const value& obj) {
  for (size_t i = 0; i < obj.members.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (obj.members[i].first == obj.members[j].first) return false;
  return true;
}

/// A string, or an array of strings; adds the number of strings to `leaves`.
bool is_leaf(const value& v, size_t& leaves) {
  if (v.kind == value::string) {
    ++leaves;
    return true;
  }
  if (v.kind != value::array || v.items.empty()) return false;
  for (auto& item : v.items)
    if (item.kind != value::string) return false;
  leaves += v.items.size();
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;

  // percent_encode / percent_decode
  auto encoded = ls::form::percent_encode(in);
  for (char c : encoded)
    FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                   c == '~' || c == '%',
               in);
  bool has_nul = in.find('\0') != std::string_view::npos;
  for (bool plus : {false, true}) {
    auto decoded = ls::form::percent_decode(encoded, plus);
    FUZZ_CHECK(has_nul ? !decoded : decoded && *decoded == in, in);
  }
  if (auto d = ls::form::percent_decode(in, true)) {
    FUZZ_CHECK(d->size() <= in.size(), in);
    FUZZ_CHECK(d->find('\0') == std::string::npos, in);
  }

  // form::parse round trip
  auto pairs = ls::form::parse(in);
  std::string error;
  auto tree = ls::api::parse_form(in, error);
  if (!pairs) {
    FUZZ_CHECK(!tree && !error.empty(), in);
    return 0;
  }
  // A key given both as "k=v" (or "k[]=v") and as "k[i]=v" is refused.
  std::set<std::string> plain, nested;
  for (auto& [k, v] : *pairs) {
    auto open = k.find('[');
    if (open != std::string::npos && open > 0 && k.back() == ']' &&
        open + 2 < k.size())
      nested.insert(k.substr(0, open));
    else if (open != std::string::npos && open > 0 && k.back() == ']')
      plain.insert(k.substr(0, open));
    else
      plain.insert(k);
  }
  bool mixed = std::any_of(plain.begin(), plain.end(),
                           [&](auto& k) { return nested.count(k) > 0; });
  // The input limits: every pair is a value; top-level keys and the inner keys
  // of each k[i] object are keys of one object.
  using limits = ls::api::input_limits;
  std::map<std::string, std::set<std::string>> inner_keys;
  for (auto& [k, v] : *pairs) {
    auto open = k.find('[');
    if (open != std::string::npos && open > 0 && k.back() == ']' &&
        open + 2 < k.size())
      inner_keys[k.substr(0, open)].insert(
          k.substr(open + 1, k.size() - open - 2));
  }
  std::set<std::string> top = plain;
  top.insert(nested.begin(), nested.end());
  bool over = pairs->size() > limits::max_values ||
              static_cast<size_t>(std::count(in.begin(), in.end(), '&')) >=
                  limits::max_values ||
              top.size() > limits::max_keys_per_object ||
              std::any_of(inner_keys.begin(), inner_keys.end(), [](auto& e) {
                return e.second.size() > limits::max_keys_per_object;
              });
  FUZZ_CHECK(tree.has_value() == (!mixed && !over), in);
  if (!tree) {
    FUZZ_CHECK(error.find("both as a value and as") != std::string::npos ||
                   error.find("more than") != std::string::npos,
               in);
    return 0;
  }
  std::string body;
  for (auto& [k, v] : *pairs) {
    FUZZ_CHECK(k.find('\0') == std::string::npos, in);
    FUZZ_CHECK(v.find('\0') == std::string::npos, in);
    if (!body.empty()) body += '&';
    body += ls::form::percent_encode(k) + "=" + ls::form::percent_encode(v);
  }
  auto again = ls::form::parse(body);
  FUZZ_CHECK(again && *again == *pairs, body);
  if (auto first = ls::form::first(*pairs, "email"))
    FUZZ_CHECK(std::find_if(
                   pairs->begin(), pairs->end(),
                   [](auto& p) {
                     return p.first == "email";
                   })->second == *first,
               in);

  // parse_form's tree
  FUZZ_CHECK(tree->kind == value::object, in);
  FUZZ_CHECK(unique_keys(*tree), in);
  size_t leaves = 0;
  for (auto& [k, v] : tree->members) {
    if (v.kind == value::object) {
      FUZZ_CHECK(!v.members.empty(), in);
      FUZZ_CHECK(unique_keys(v), in);
      for (auto& [ik, iv] : v.members)
        FUZZ_CHECK(is_leaf(iv, leaves), in);
    } else {
      FUZZ_CHECK(is_leaf(v, leaves), in);
    }
  }
  FUZZ_CHECK(leaves == pairs->size(), in);
  return 0;
}
