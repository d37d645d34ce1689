// The request router (http/router.hpp), with the service's own route table
// (a copy of the one in actors/routes/api.cpp, which needs CAF) plus patterns
// made from the input. Properties: match never crashes; a found route has the
// asked method (or GET for HEAD), its pattern matches the path segment for
// segment and the path is the pattern with the parameters put back; no other
// route of that method that matches is strictly more specific, and the first
// added wins a tie; 405 lists exactly the other methods of the matching routes;
// 404 means none matches.
#include "http/router.hpp"

#include "fuzz.hpp"

#include <algorithm>
#include <fuzzer/FuzzedDataProvider.h>
#include <vector>

namespace {

struct route {
  std::string method, pattern;
};

const std::vector<route> service_routes = {
    {"GET", "/healthz"},
    {"GET", "/metrics"},
    {"POST", "/api/v1/accounts"},
    {"POST", "/api/v1/session"},
    {"DELETE", "/api/v1/session"},
    {"GET", "/api/v1/me"},
    {"POST", "/api/v1/me/api-token"},
    {"POST", "/api/v1/campaigns"},
    {"GET", "/api/v1/campaigns"},
    {"GET", "/api/v1/campaigns/{id}"},
    {"PUT", "/api/v1/campaigns/{id}"},
    {"DELETE", "/api/v1/campaigns/{id}"},
    {"GET", "/p/{handle}"},
    {"POST", "/api/v1/public/{handle}/subscribe"},
    {"GET", "/api/v1/subscribers"},
    {"GET", "/api/v1/subscribers/stats"},
    {"GET", "/api/v1/subscribers/{id}"},
    {"PATCH", "/api/v1/subscribers/{id}"},
    {"DELETE", "/api/v1/subscribers/{id}"},
    {"GET", "/api/v1/exports/subscribers.csv"},
    {"GET", "/api/v1/integrations"},
    {"GET", "/api/v1/integrations/mailchimp/connect"},
    {"GET", "/api/v1/integrations/mailchimp/audiences"},
    {"POST", "/api/v1/integrations/mailchimp/audiences"},
    {"PUT", "/api/v1/integrations/mailchimp/audience"},
    {"DELETE", "/api/v1/integrations/mailchimp"},
    {"GET", "/dashboard/email-collection"},
    {"GET", "/dashboard/assets/{name}"},
    {"POST", "/api/v1/sync-jobs"},
    {"GET", "/api/v1/sync-jobs"},
    {"GET", "/api/v1/sync-jobs/{id}"},
    {"POST", "/api/v1/sync-jobs/{id}/cancel"},
    {"POST", "/api/v1/sync-jobs/{id}/retry"},
    {"GET", "/api/v1/sync-jobs/{id}/file.csv"},
    {"POST", "/api/v1/sync-jobs/{id}/complete"},
    {"PUT", "/api/v1/integrations/webhook"},
    {"GET", "/api/v1/integrations/webhook"},
    {"DELETE", "/api/v1/integrations/webhook"},
    {"POST", "/api/v1/integrations/webhook/rotate-secret"},
    {"POST", "/api/v1/integrations/webhook/test"},
    {"GET", "/api/v1/integrations/webhook/deliveries"},
    {"POST", "/api/v1/integrations/webhook/deliveries/{id}/redeliver"},
    {"POST", "/api/v1/integrations/webhook/deliveries/replay"},
    {"GET", "/api/v1/events"},
    {"GET", "/admin/events"},
};

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

// The documented segment kinds: "{name*}" tail, "{name}" parameter, literal.
int kind(const std::string& s) {
  if (s.size() >= 4 && s.front() == '{' && s.back() == '}' &&
      s[s.size() - 2] == '*')
    return 0;
  if (s.size() >= 3 && s.front() == '{' && s.back() == '}') return 1;
  return 2;
}

bool matches(const std::vector<std::string>& pat,
             const std::vector<std::string>& path) {
  for (size_t i = 0; i < pat.size(); ++i) {
    if (kind(pat[i]) == 0) // one or more segments, not one empty one
      return i < path.size() && !(i + 1 == path.size() && path[i].empty());
    if (i >= path.size()) return false;
    if (kind(pat[i]) == 1 ? path[i].empty() : pat[i] != path[i]) return false;
  }
  return pat.size() == path.size();
}

bool more_specific(const std::vector<std::string>& a,
                   const std::vector<std::string>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (kind(a[i]) != kind(b[i])) return kind(a[i]) > kind(b[i]);
  return false;
}

std::string name_of(const std::string& seg) {
  auto n = seg.substr(1, seg.size() - 2);
  if (!n.empty() && n.back() == '*') n.pop_back();
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::vector<route> routes = service_routes;
  static const char* methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                  "PATCH", "DELETE", "OPTIONS", "get"};
  auto extra = fdp.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < extra; ++i) {
    route x{fdp.PickValueInArray(methods), fdp.ConsumeRandomLengthString(64)};
    auto segs = split(x.pattern);
    // A tail parameter is documented as the last segment only.
    if (std::find_if(segs.begin(), segs.end() - 1,
                     [](auto& s) { return kind(s) == 0; }) == segs.end() - 1)
      routes.push_back(std::move(x));
  }
  std::string method = fdp.ConsumeBool() ? fdp.PickValueInArray(methods)
                                         : fdp.ConsumeRandomLengthString(8);
  std::string path = fdp.ConsumeRemainingBytesAsString();
  std::string shown = method + " " + path;

  ls::http::router r;
  for (size_t i = 0; i < routes.size(); ++i)
    r.add(routes[i].method, routes[i].pattern, static_cast<int>(i));
  auto m = r.match(method, path);
  auto segs = split(path);

  std::vector<size_t> matching;
  for (size_t i = 0; i < routes.size(); ++i)
    if (matches(split(routes[i].pattern), segs)) matching.push_back(i);

  if (m.result == ls::http::route_match::not_found) {
    FUZZ_CHECK(matching.empty(), shown);
    return 0;
  }
  FUZZ_CHECK(!matching.empty(), shown);
  if (m.result == ls::http::route_match::method_not_allowed) {
    std::string allow;
    std::vector<std::string> seen;
    for (auto i : matching) {
      FUZZ_CHECK(routes[i].method != method, shown);
      FUZZ_CHECK(!(method == "HEAD" && routes[i].method == "GET"), shown);
      if (std::find(seen.begin(), seen.end(), routes[i].method) != seen.end())
        continue;
      seen.push_back(routes[i].method);
      allow += (allow.empty() ? "" : ", ") + routes[i].method;
    }
    FUZZ_CHECK(m.allow == allow, shown + " allow: " + m.allow);
    return 0;
  }

  FUZZ_CHECK(m.route >= 0 && size_t(m.route) < routes.size(), shown);
  auto& found = routes[static_cast<size_t>(m.route)];
  FUZZ_CHECK(m.pattern == found.pattern, shown);
  bool exact = found.method == method;
  FUZZ_CHECK(exact || (method == "HEAD" && found.method == "GET"), shown);
  auto pat = split(found.pattern);
  FUZZ_CHECK(matches(pat, segs), shown + " pattern " + found.pattern);
  // The best one: none more specific with the same method; a tie goes to the
  // first added. A HEAD request takes GET routes only when no HEAD route
  // matches.
  for (auto i : matching) {
    bool candidate = routes[i].method == found.method;
    if (!exact && routes[i].method == method) FUZZ_CHECK(false, shown);
    if (!candidate) continue;
    auto other = split(routes[i].pattern);
    FUZZ_CHECK(!more_specific(other, pat), shown + " vs " + routes[i].pattern);
    if (i < size_t(m.route))
      FUZZ_CHECK(more_specific(pat, other), shown + " vs " + routes[i].pattern);
  }
  // The parameters, put back into the pattern, give the path.
  std::string rebuilt;
  size_t p = 0;
  for (auto& seg : pat) {
    rebuilt += '/';
    if (kind(seg) == 2) {
      rebuilt += seg;
      continue;
    }
    FUZZ_CHECK(p < m.params.size() && m.params[p].first == name_of(seg), shown);
    rebuilt += m.params[p++].second;
  }
  FUZZ_CHECK(p == m.params.size(), shown);
  std::string normal = path.starts_with('/') ? path : "/" + path;
  FUZZ_CHECK(rebuilt == normal, shown + " rebuilt " + rebuilt);
  return 0;
}
