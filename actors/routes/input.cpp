#include "actors/routes/input.hpp"

#include "http/codec/form.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <cmath>
#include <simdjson.h>
#include <unordered_map>

namespace ls::api {

value::value() = default;
value::value(const value&) = default;
value::value(value&&) noexcept = default;
value& value::operator=(const value&) = default;
value& value::operator=(value&&) noexcept = default;
value::~value() = default;

const value* value::get(std::string_view key) const {
  for (auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

const char* value::kind_name(kind_t k) {
  switch (k) {
  case null:
    return "null";
  case boolean:
    return "a boolean";
  case number:
    return "a number";
  case string:
    return "a string";
  case array:
    return "an array";
  case object:
    return "an object";
  }
  return "?";
}

namespace {

std::string too_many_keys() {
  return "an object in the body has more than " +
         std::to_string(input_limits::max_keys_per_object) + " keys";
}

std::string too_many_values() {
  return "the body has more than " + std::to_string(input_limits::max_values) +
         " values";
}

/// Finds members by key in O(1), so building an object of n keys is linear.
/// Small objects (nearly all) are searched directly.
class member_index {
public:
  value* find(value& obj, std::string_view key) {
    if (obj.members.size() <= small) {
      for (auto& [k, v] : obj.members)
        if (k == key) return &v;
      return nullptr;
    }
    if (by_key_.empty())
      for (size_t i = 0; i < obj.members.size(); ++i)
        by_key_.emplace(obj.members[i].first, i);
    auto it = by_key_.find(std::string{key});
    return it == by_key_.end() ? nullptr : &obj.members[it->second].second;
  }
  /// Call after obj.members.emplace_back(key, …).
  void added(value& obj) {
    if (!by_key_.empty())
      by_key_.emplace(obj.members.back().first, obj.members.size() - 1);
  }

private:
  static constexpr size_t small = 8;
  std::unordered_map<std::string, size_t> by_key_;
};

struct converter {
  size_t values = 0;
  std::string error;

  bool count_one() {
    if (++values <= input_limits::max_values) return true;
    error = too_many_values();
    return false;
  }

  bool convert(simdjson::dom::element e, value& out, int depth) {
    if (depth > input_limits::max_depth) {
      error = "the JSON is nested too deeply";
      return false;
    }
    if (!count_one()) return false;
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::OBJECT: {
      out.kind = value::object;
      member_index index;
      for (auto [k, v] : simdjson::dom::object(e)) {
        value child;
        if (!convert(v, child, depth + 1)) return false;
        // Duplicate keys: the last one wins, as in most JSON readers.
        if (auto* existing = index.find(out, k)) {
          *existing = std::move(child);
          continue;
        }
        if (out.members.size() == input_limits::max_keys_per_object) {
          error = too_many_keys();
          return false;
        }
        out.members.emplace_back(std::string{k}, std::move(child));
        index.added(out);
      }
      return true;
    }
    case element_type::ARRAY:
      out.kind = value::array;
      for (auto v : simdjson::dom::array(e)) {
        value child;
        if (!convert(v, child, depth + 1)) return false;
        out.items.push_back(std::move(child));
      }
      return true;
    case element_type::STRING:
      out.kind = value::string;
      out.s = std::string{std::string_view(e)};
      return true;
    case element_type::INT64:
      out.kind = value::number;
      out.n = static_cast<double>(int64_t(e));
      out.integral = true;
      return true;
    case element_type::UINT64:
      out.kind = value::number;
      out.n = static_cast<double>(uint64_t(e));
      out.integral = true;
      return true;
    case element_type::DOUBLE:
      out.kind = value::number;
      out.n = double(e);
      out.integral = std::floor(out.n) == out.n;
      return true;
    case element_type::BOOL:
      out.kind = value::boolean;
      out.b = bool(e);
      return true;
    case element_type::NULL_VALUE:
      out.kind = value::null;
      return true;
    }
    error = "the JSON has a value of an unknown kind";
    return false;
  }
};

} // namespace

std::optional<value> parse_json(std::string_view body, std::string& error) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded{body};
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    error = std::string{"the body is not valid JSON: "} +
            simdjson::error_message(err);
    return std::nullopt;
  }
  value v;
  converter conv;
  if (!conv.convert(root, v, 0)) {
    error = std::move(conv.error);
    return std::nullopt;
  }
  return v;
}

std::optional<value> parse_form(std::string_view body, std::string& error) {
  // Refused before decoding anything: every '&' may start a pair.
  if (static_cast<size_t>(std::count(body.begin(), body.end(), '&')) >=
      input_limits::max_values) {
    error = too_many_values();
    return std::nullopt;
  }
  auto pairs = form::parse(body);
  if (!pairs) {
    error = "the form body has a malformed %-escape";
    return std::nullopt;
  }
  if (pairs->size() > input_limits::max_values) {
    error = too_many_values();
    return std::nullopt;
  }
  value root;
  root.kind = value::object;
  member_index root_index;
  // One index per nested object ("fields" of fields[key]), by its key.
  std::unordered_map<std::string, member_index> nested_index;
  // A string, or an array of strings once the key repeats. False when a new
  // key would pass max_keys_per_object.
  auto add = [&error](value* existing, value& obj, member_index& index,
                      const std::string& key, std::string v) {
    value item;
    item.kind = value::string;
    item.s = std::move(v);
    if (!existing) {
      if (obj.members.size() == input_limits::max_keys_per_object) {
        error = too_many_keys();
        return false;
      }
      obj.members.emplace_back(key, std::move(item));
      index.added(obj);
      return true;
    }
    if (existing->kind != value::array) {
      value first = std::move(*existing);
      *existing = value{};
      existing->kind = value::array;
      existing->items.push_back(std::move(first));
    }
    existing->items.push_back(std::move(item));
    return true;
  };
  auto mixed = [&error](const std::string& key) {
    error = "the form gives \"" + key + "\" both as a value and as " + key +
            "[...]";
    return std::nullopt;
  };
  for (auto& [k, v] : *pairs) {
    auto open = k.find('[');
    bool nested = open != std::string::npos && open > 0 && k.back() == ']';
    auto outer = nested ? k.substr(0, open) : k;
    auto inner = nested ? k.substr(open + 1, k.size() - open - 2) : "";
    value* existing = root_index.find(root, outer);
    if (inner.empty()) { // "tags=a", and "tags[]=a&tags[]=b" as "tags=a&tags=b"
      if (existing && existing->kind == value::object) return mixed(outer);
      if (!add(existing, root, root_index, outer, v)) return std::nullopt;
      continue;
    }
    if (existing && existing->kind != value::object) return mixed(outer);
    if (!existing) {
      if (root.members.size() == input_limits::max_keys_per_object) {
        error = too_many_keys();
        return std::nullopt;
      }
      value o;
      o.kind = value::object;
      root.members.emplace_back(outer, std::move(o));
      root_index.added(root);
      existing = &root.members.back().second;
    }
    auto& index = nested_index[outer];
    if (!add(index.find(*existing, inner), *existing, index, inner, v))
      return std::nullopt;
  }
  return root;
}

std::string fields_reader::path(std::string_view key) const {
  return prefix_.empty() ? std::string{key} : prefix_ + "." + std::string{key};
}

void fields_reader::error(std::string_view key, std::string message) {
  errors_.push_back({path(key), std::move(message)});
}

bool fields_reader::present(const char* key) const {
  auto* v = obj_.get(key);
  return v && v->kind != value::null;
}

const value* fields_reader::raw(const char* key) {
  auto* v = obj_.get(key);
  return v && v->kind != value::null ? v : nullptr;
}

std::optional<std::string> fields_reader::text(const char* key, size_t max,
                                               bool required) {
  auto* v = obj_.get(key);
  if (!v || v->kind == value::null) {
    if (required) error(key, "is required");
    return std::nullopt;
  }
  if (v->kind != value::string) {
    error(key,
          std::string{"must be a string, not "} + value::kind_name(v->kind));
    return std::nullopt;
  }
  auto r = validation::text(v->s, max);
  if (!r.ok()) {
    error(key, r.error);
    return std::nullopt;
  }
  if (required && r.value.empty()) {
    error(key, "is required");
    return std::nullopt;
  }
  return r.value;
}

std::optional<bool> fields_reader::boolean(const char* key) {
  auto* v = obj_.get(key);
  if (!v || v->kind == value::null) return std::nullopt;
  if (v->kind == value::boolean) return v->b;
  if (v->kind == value::string) { // from forms
    if (v->s == "true" || v->s == "on" || v->s == "1") return true;
    if (v->s == "false" || v->s == "off" || v->s == "0" || v->s.empty())
      return false;
  }
  error(key, "must be true or false");
  return std::nullopt;
}

std::optional<int64_t> fields_reader::integer(const char* key, int64_t lo,
                                              int64_t hi) {
  auto* v = obj_.get(key);
  if (!v || v->kind == value::null) return std::nullopt;
  if (v->kind != value::number || !v->integral || v->n < double(lo) ||
      v->n > double(hi)) {
    error(key, "must be a whole number from " + std::to_string(lo) + " to " +
                   std::to_string(hi));
    return std::nullopt;
  }
  return static_cast<int64_t>(v->n);
}

void fields_reader::reject_unknown(
    std::initializer_list<std::string_view> allowed) {
  for (auto& [k, v] : obj_.members)
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      error(k, "is not a known field");
}

std::optional<std::vector<std::string>>
read_tags(const value* v, const std::string& field,
          std::vector<http::field_error>& errors) {
  std::vector<std::string> raw;
  if (!v || v->kind == value::null) return std::vector<std::string>{};
  if (v->kind == value::string) {
    std::string_view s = v->s;
    size_t start = 0;
    while (start <= s.size()) {
      auto comma = s.find(',', start);
      auto part = s.substr(start, comma == std::string_view::npos
                                      ? std::string_view::npos
                                      : comma - start);
      raw.emplace_back(part);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  } else if (v->kind == value::array) {
    for (auto& item : v->items) {
      if (item.kind != value::string) {
        errors.push_back({field, "must be a list of strings"});
        return std::nullopt;
      }
      raw.push_back(item.s);
    }
  } else {
    errors.push_back({field, "must be a list of strings"});
    return std::nullopt;
  }
  std::vector<std::string> tags;
  for (auto& t : raw) {
    auto r = validation::text(t, 100);
    if (!r.ok()) {
      errors.push_back({field, "tag \"" + t.substr(0, 40) + "\": " + r.error});
      return std::nullopt;
    }
    if (!r.value.empty()) tags.push_back(std::move(r.value));
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (tags.size() > 50) {
    errors.push_back({field, "at most 50 tags"});
    return std::nullopt;
  }
  return tags;
}

} // namespace ls::api
