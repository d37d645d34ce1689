// The JSON request parser (actors/routes/input.hpp: parse_json) and the field
// readers every endpoint uses on what it returns.
// Properties: a parsed tree is what the API expects (keys unique, strings valid
// UTF-8, numbers finite, depth bounded); written back out with json::writer it
// parses to the same tree; the readers never throw and keep their bounds.
#include "http/codec/json.hpp"

#include "actors/routes/input.hpp"
#include "fuzz.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace {

using ls::api::value;

void write(ls::json::writer& w, const value& v) {
  switch (v.kind) {
  case value::null:
    w.null();
    break;
  case value::boolean:
    w.value(v.b);
    break;
  case value::number: {
    char buf[64];
    // Shortest round trip, with an exponent: 18446744073709551615 becomes the
    // double 2^64, whose digits simdjson would refuse as an integer.
    auto r = std::to_chars(buf, buf + sizeof buf, v.n,
                           std::chars_format::scientific);
    w.raw(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
    break;
  }
  case value::string:
    w.value(v.s);
    break;
  case value::array:
    w.begin_array();
    for (auto& item : v.items)
      write(w, item);
    w.end_array();
    break;
  case value::object:
    w.begin_object();
    for (auto& [k, m] : v.members) {
      w.key(k);
      write(w, m);
    }
    w.end_object();
    break;
  }
}

bool same(const value& a, const value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
  case value::null:
    return true;
  case value::boolean:
    return a.b == b.b;
  case value::number:
    return a.n == b.n && a.integral == b.integral;
  case value::string:
    return a.s == b.s;
  case value::array:
    return std::equal(a.items.begin(), a.items.end(), b.items.begin(),
                      b.items.end(), same);
  case value::object:
    return std::equal(a.members.begin(), a.members.end(), b.members.begin(),
                      b.members.end(), [](auto& x, auto& y) {
                        return x.first == y.first && same(x.second, y.second);
                      });
  }
  return false;
}

/// Every value of the tree (containers included), for input_limits.
size_t count_values(const value& v) {
  size_t n = 1;
  for (auto& item : v.items)
    n += count_values(item);
  for (auto& [k, m] : v.members)
    n += count_values(m);
  return n;
}

void check_tree(const value& v, int depth, std::string_view in) {
  FUZZ_CHECK(depth <= 17, in); // max_depth 16 below the root
  FUZZ_CHECK(v.members.size() <= ls::api::input_limits::max_keys_per_object,
             in);
  switch (v.kind) {
  case value::number:
    FUZZ_CHECK(std::isfinite(v.n), in);
    FUZZ_CHECK(!v.integral || std::floor(v.n) == v.n, in);
    break;
  case value::string:
    FUZZ_CHECK(ls::validation::is_utf8(v.s), in);
    break;
  case value::array:
    for (auto& item : v.items)
      check_tree(item, depth + 1, in);
    break;
  case value::object:
    for (size_t i = 0; i < v.members.size(); ++i) {
      FUZZ_CHECK(ls::validation::is_utf8(v.members[i].first), in);
      for (size_t j = 0; j < i; ++j)
        FUZZ_CHECK(v.members[j].first != v.members[i].first, in);
      FUZZ_CHECK(v.get(v.members[i].first) == &v.members[i].second, in);
      check_tree(v.members[i].second, depth + 1, in);
    }
    break;
  default:
    break;
  }
}

void check_readers(const value& obj, std::string_view in) {
  std::vector<ls::http::field_error> errors;
  ls::api::fields_reader f{obj, errors, "body"};
  for (auto& [k, v] : obj.members) {
    if (k.find('\0') != std::string::npos) continue; // the readers take C keys
    auto before = errors.size();
    if (auto t = f.text(k.c_str(), 100, true)) {
      FUZZ_CHECK(t->size() <= 100 && !t->empty(), in);
      FUZZ_CHECK(ls::validation::text(*t, 100).ok(), in);
      FUZZ_CHECK(v.kind == value::string, in);
    } else {
      FUZZ_CHECK(errors.size() == before + 1, in); // required: always says why
      FUZZ_CHECK(errors.back().field == "body." + k, in);
      FUZZ_CHECK(!errors.back().message.empty(), in);
    }
    if (auto b = f.boolean(k.c_str()))
      FUZZ_CHECK(v.kind == value::boolean || v.kind == value::string, in);
    if (auto n = f.integer(k.c_str(), -1000, 1000000)) {
      FUZZ_CHECK(*n >= -1000 && *n <= 1000000, in);
      FUZZ_CHECK(v.kind == value::number && static_cast<double>(*n) == v.n, in);
    }
    std::vector<ls::http::field_error> tag_errors;
    if (auto tags = ls::api::read_tags(&v, k, tag_errors)) {
      FUZZ_CHECK(tag_errors.empty(), in);
      FUZZ_CHECK(tags->size() <= 50, in);
      FUZZ_CHECK(std::is_sorted(tags->begin(), tags->end()), in);
      FUZZ_CHECK(std::adjacent_find(tags->begin(), tags->end()) == tags->end(),
                 in);
      for (auto& t : *tags)
        FUZZ_CHECK(!t.empty() && t.size() <= 100 &&
                       ls::validation::text(t, 100).value == t,
                   in);
    } else {
      FUZZ_CHECK(tag_errors.size() == 1, in);
    }
  }
  f.reject_unknown({"email", "name"});
  for (auto& e : errors)
    FUZZ_CHECK(e.field.starts_with("body."), in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;
  std::string error;
  auto v = ls::api::parse_json(in, error);
  if (!v) {
    FUZZ_CHECK(!error.empty(), in);
    return 0;
  }
  FUZZ_CHECK(error.empty(), in);
  FUZZ_CHECK(count_values(*v) <= ls::api::input_limits::max_values, in);
  check_tree(*v, 0, in);

  ls::json::writer w;
  write(w, *v);
  std::string again_error;
  auto again = ls::api::parse_json(w.str(), again_error);
  FUZZ_CHECK(again, again_error + " | " + w.str());
  FUZZ_CHECK(same(*v, *again), w.str());

  if (v->kind == value::object) check_readers(*v, in);
  return 0;
}
