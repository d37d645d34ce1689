#include "actors/ratelimit.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cmath>
#include <cstring>

namespace ls {

std::string address_key(const std::string& ip) {
  in6_addr a{};
  if (ip.find(':') == std::string::npos ||
      ::inet_pton(AF_INET6, ip.c_str(), &a) != 1)
    return ip;
  std::memset(a.s6_addr + 8, 0, 8);
  char text[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, &a, text, sizeof text)) return ip;
  return std::string{text} + "/64";
}

unsigned rate_limiter::take(const std::string& key, clock::time_point now) {
  if (per_minute_ == 0) return 0;
  std::lock_guard guard{mutex_};
  if (buckets_.size() >= max_keys_) prune(now);
  auto rate = per_minute_ / 60.0; // tokens per second
  auto [it, fresh] =
      buckets_.try_emplace(key, bucket{double(per_minute_), now});
  auto& b = it->second;
  if (!fresh) {
    auto elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min<double>(per_minute_, b.tokens + elapsed * rate);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<unsigned>(std::ceil((1.0 - b.tokens) / rate));
}

void rate_limiter::prune(clock::time_point now) {
  // Buckets that have refilled completely carry no information.
  auto full_after = std::chrono::duration<double>(60.0);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.updated >= full_after)
      it = buckets_.erase(it);
    else
      ++it;
  }
  if (buckets_.size() >=
      max_keys_) // still full: a flood of distinct keys; start over
    buckets_.clear();
}

unsigned failure_throttle::begin(const std::string& key,
                                 clock::time_point now) {
  std::lock_guard guard{mutex_};
  if (entries_.size() > 100000) // a flood of distinct keys: forget idle ones
    std::erase_if(entries_, [](auto& e) { return e.second.checking == 0; });
  auto& e = entries_[key];
  if (e.failures > 0 && now - e.first >= window_) e.failures = 0;
  if (e.failures + e.checking >= limit_) {
    if (e.failures < limit_) return 1; // attempts still being checked
    return static_cast<unsigned>(std::max<int64_t>(
        1, std::chrono::ceil<std::chrono::seconds>(e.first + window_ - now)
               .count()));
  }
  if (e.failures == 0 && e.checking == 0) e.first = now;
  ++e.checking;
  return 0;
}

void failure_throttle::finish(const std::string& key, result r,
                              clock::time_point now) {
  std::lock_guard guard{mutex_};
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  auto& e = it->second;
  if (e.checking > 0) --e.checking;
  switch (r) {
  case result::failed:
    if (e.failures == 0) e.first = now;
    ++e.failures;
    break;
  case result::succeeded:
    e.failures = 0;
    break;
  case result::given_back:
    break;
  }
  if (e.failures == 0 && e.checking == 0) entries_.erase(it);
}

} // namespace ls
