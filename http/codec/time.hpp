// Times: microseconds since the Unix epoch, rendered as RFC 3339 UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ls::timefmt {

/// Microseconds since the epoch, now (system clock).
int64_t now_us();

/// "2026-11-26T02:53:14.123Z" (milliseconds, always UTC 'Z'). Never fails:
/// years outside 0000..9999 (far from any real timestamp) come out with more
/// digits or a '-' sign.
std::string rfc3339(int64_t us);

/// Parses RFC 3339 with 'Z' or an offset, optional fraction; nullopt when
/// malformed. 'T'/'t' and 'Z'/'z' are accepted, a space separator is not;
/// fraction digits past microseconds are truncated; leap seconds (:60) and
/// inputs over 64 bytes are refused.
std::optional<int64_t> parse_rfc3339(std::string_view s);

} // namespace ls::timefmt
