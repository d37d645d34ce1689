// Token buckets keyed by a string (an IP, a handle, an email). Thread-safe,
// memory bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ls {

/// The key a per-address limit counts by: IPv4 as is, IPv6 by its /64 (a
/// home line or a server usually gets a whole /64, so hopping between its
/// addresses must not earn fresh allowances). Anything else as is.
std::string address_key(const std::string& ip);

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;
  /// `per_minute` requests a minute with bursts up to the same number; 0 =
  /// unlimited.
  explicit rate_limiter(unsigned per_minute, size_t max_keys = 200000)
      : per_minute_(per_minute), max_keys_(max_keys) {}
  /// Takes one token. Returns 0 when allowed, else the seconds to wait
  /// (Retry-After).
  unsigned take(const std::string& key, clock::time_point now = clock::now());

private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };
  void prune(clock::time_point now);
  unsigned per_minute_;
  size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

/// Sign-in attempts per key (an email, an address): after `limit` failures
/// within `window`, the key is locked until the window has passed since the
/// first of them. An attempt counts when it begins, before its password is
/// checked, so attempts arriving together cannot pass the limit: at most
/// `limit` are ever being checked or failed within a window. A success clears
/// the key.
class failure_throttle {
public:
  using clock = std::chrono::steady_clock;
  enum class result { failed, succeeded, given_back };
  failure_throttle(unsigned limit, std::chrono::seconds window)
      : limit_(limit), window_(window) {}
  /// Begins an attempt: 0 when it may go on (it then counts, and finish() must
  /// follow), else the seconds to wait (Retry-After).
  unsigned begin(const std::string& key, clock::time_point now = clock::now());
  /// Ends an attempt begun with begin(). `succeeded` clears the key's
  /// failures; `given_back` ends it as if it never began (the server could not
  /// check it, or a success that must not clear an address's failures).
  void finish(const std::string& key, result r,
              clock::time_point now = clock::now());

private:
  struct entry {
    unsigned failures = 0;
    unsigned checking = 0;
    clock::time_point first;
  };
  unsigned limit_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace ls
