// Where outbound webhook requests may go: an SSRF guard. A URL is checked for
// its form, its host is resolved, and every resolved address is checked; the
// request then connects to one of exactly those addresses (no second lookup).
#pragma once

#include <string>
#include <vector>

struct sockaddr;

namespace ls::http {

/// The IPv4 or IPv6 address in `sa` as text ("" for another family).
std::string address_text(const sockaddr* sa);

/// Why `address` (an IPv4 or IPv6 literal, as resolved) may not be a target:
/// loopback, private, link-local, CGNAT, multicast, unspecified,
/// documentation, benchmarking, reserved, or one of those inside an IPv6
/// form that embeds IPv4 (mapped, compatible, NAT64, 6to4); SIIT's
/// IPv4-translated ::ffff:0:0:0/96 is refused whole. "" when it may.
std::string forbidden_address(const std::string& address);

struct target {
  std::string scheme; ///< http | https
  std::string host;   ///< as written (a name or a literal), for Host and SNI
  std::string port;   ///< explicit or the scheme's
  std::vector<std::string> addresses; ///< resolved and allowed
  std::string error; ///< why the URL may not be used; empty when it may
};

/// The URL part of check_target, with no DNS: absolute http or https, no user
/// info, a host, a port from 1 to 65535 when one is written, at most 2,000
/// bytes. Sets `scheme` (lower case), `host` and `port`, or `error`; never
/// `addresses`.
target check_url_form(const std::string& url);

/// Checks `url` (absolute http or https, no user info, at most 2,000 bytes),
/// resolves its host (this blocks on DNS) and keeps the allowed addresses.
/// With `allow_private`, special ranges are allowed (tests, private networks).
target check_target(const std::string& url, bool allow_private);

} // namespace ls::http
