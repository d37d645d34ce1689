#include "http/router.hpp"

#include <algorithm>

namespace ls::http {

namespace {

enum class seg_kind : unsigned char { tail = 0, param = 1, literal = 2 };

/// Splits "/a/b" into {"a", "b"}; "/" gives {""}, "/a/" gives {"a", ""}.
/// The leading '/' is optional (a path without it is split the same way).
template <class Out>
void split_path(std::string_view path, Out& out) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    if (slash == std::string_view::npos) {
      out.emplace_back(path);
      return;
    }
    out.emplace_back(path.substr(0, slash));
    path.remove_prefix(slash + 1);
  }
}

bool is_param(std::string_view seg) {
  return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}';
}

bool is_tail(std::string_view seg) {
  return seg.size() >= 4 && seg.front() == '{' && seg.back() == '}' &&
         seg[seg.size() - 2] == '*';
}

seg_kind kind_of(std::string_view seg) {
  if (is_tail(seg)) return seg_kind::tail;
  if (is_param(seg)) return seg_kind::param;
  return seg_kind::literal;
}

std::string_view param_name(std::string_view seg) {
  seg.remove_prefix(1);
  seg.remove_suffix(1);
  if (!seg.empty() && seg.back() == '*') seg.remove_suffix(1);
  return seg;
}

/// Whether `segs` (a pattern) matches `path` (split). Does not build params.
bool matches(const std::vector<std::string>& segs,
             const std::vector<std::string_view>& path) {
  size_t i = 0;
  for (; i < segs.size(); ++i) {
    const auto& s = segs[i];
    if (is_tail(s)) {
      // One or more segments, and the remainder must not be empty.
      if (i >= path.size()) return false;
      if (i + 1 == path.size() && path[i].empty()) return false;
      return true;
    }
    if (i >= path.size()) return false;
    if (is_param(s)) {
      if (path[i].empty()) return false;
    } else if (s != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

/// Literal beats param beats tail, compared segment by segment from the left.
/// Returns true when `a` is strictly more specific than `b`.
bool more_specific(const std::vector<std::string>& a,
                   const std::vector<std::string>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    auto ka = kind_of(a[i]);
    auto kb = kind_of(b[i]);
    if (ka != kb) return ka > kb;
  }
  return false;
}

} // namespace

std::string_view route_match::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

void router::add(std::string_view method, std::string_view pattern, int route) {
  entry e;
  e.method = std::string(method);
  e.pattern = std::string(pattern);
  split_path(pattern, e.segments);
  e.route = route;
  entries_.push_back(std::move(e));
}

route_match router::match(std::string_view method,
                          std::string_view path) const {
  route_match m;
  std::vector<std::string_view> segs;
  segs.reserve(8);
  split_path(path, segs);

  const entry* best = nullptr;
  const entry* best_get = nullptr; // for HEAD without an explicit HEAD route
  bool any = false;
  for (const auto& e : entries_) {
    if (!matches(e.segments, segs)) continue;
    any = true;
    if (e.method == method) {
      if (!best || more_specific(e.segments, best->segments)) best = &e;
    } else if (method == "HEAD" && e.method == "GET") {
      if (!best_get || more_specific(e.segments, best_get->segments))
        best_get = &e;
    }
  }
  if (!best) best = best_get;
  if (best) {
    m.result = route_match::found;
    m.route = best->route;
    m.pattern = best->pattern;
    for (size_t i = 0; i < best->segments.size(); ++i) {
      const auto& s = best->segments[i];
      if (is_tail(s)) {
        // The raw remainder of the path from this segment on.
        std::string rest;
        for (size_t j = i; j < segs.size(); ++j) {
          if (j > i) rest += '/';
          rest.append(segs[j]);
        }
        m.params.emplace_back(std::string(param_name(s)), std::move(rest));
        break;
      }
      if (is_param(s))
        m.params.emplace_back(std::string(param_name(s)), std::string(segs[i]));
    }
    return m;
  }
  if (!any) return m;
  m.result = route_match::method_not_allowed;
  std::vector<std::string_view> seen;
  for (const auto& e : entries_) {
    if (!matches(e.segments, segs)) continue;
    if (std::find(seen.begin(), seen.end(), e.method) != seen.end()) continue;
    seen.push_back(e.method);
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += e.method;
  }
  return m;
}

} // namespace ls::http
