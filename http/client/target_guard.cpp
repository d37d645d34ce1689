#include "http/client/target_guard.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <boost/url/parse.hpp>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>

namespace ls::http {

namespace {

struct v4_range {
  uint32_t net;
  unsigned bits;
  const char* what;
};

// RFC 6890 and the IANA special-purpose registry.
constexpr v4_range v4_forbidden[] = {
    {0x00000000, 8, "a \"this network\" address"},
    {0x0A000000, 8, "a private address"},
    {0x64400000, 10, "a carrier-grade NAT address"},
    {0x7F000000, 8, "a loopback address"},
    {0xA9FE0000, 16, "a link-local address"},
    {0xAC100000, 12, "a private address"},
    {0xC0000000, 24, "an IETF protocol address"},
    {0xC0000200, 24, "a documentation address"},
    {0xC0586300, 24, "a 6to4 relay address"},
    {0xC0A80000, 16, "a private address"},
    {0xC6120000, 15, "a benchmarking address"},
    {0xC6336400, 24, "a documentation address"},
    {0xCB007100, 24, "a documentation address"},
    {0xE0000000, 4, "a multicast address"},
    {0xF0000000, 4, "a reserved address"}, // includes 255.255.255.255
};

std::string check_v4(uint32_t a) {
  for (auto& r : v4_forbidden) {
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((a & mask) == r.net) return r.what;
  }
  return {};
}

uint32_t v4_at(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

bool prefix(const std::array<unsigned char, 16>& a,
            std::initializer_list<unsigned char> bytes, unsigned bits) {
  unsigned i = 0;
  for (auto b : bytes) {
    if (bits >= 8) {
      if (a[i] != b) return false;
      bits -= 8;
    } else {
      auto mask = static_cast<unsigned char>(0xFF << (8 - bits));
      return (a[i] & mask) == (b & mask);
    }
    ++i;
  }
  return true;
}

std::string check_v6(const std::array<unsigned char, 16>& a) {
  static const std::array<unsigned char, 16> zero{};
  auto loopback = zero;
  loopback[15] = 1;
  if (a == zero) return "the unspecified address";
  if (a == loopback) return "a loopback address";
  // IPv4 inside IPv6: mapped ::ffff:a.b.c.d, the deprecated compatible
  // ::a.b.c.d, NAT64 64:ff9b::/96 — judged by the IPv4 address inside.
  bool mapped = std::all_of(a.begin(), a.begin() + 10,
                            [](unsigned char c) { return c == 0; }) &&
                a[10] == 0xFF && a[11] == 0xFF;
  bool compatible = std::all_of(a.begin(), a.begin() + 12,
                                [](unsigned char c) { return c == 0; });
  bool nat64 = prefix(a, {0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0}, 96);
  if (mapped || compatible || nat64) {
    auto inner = check_v4(v4_at(&a[12]));
    return inner.empty() ? std::string{} : inner + " (inside IPv6)";
  }
  // SIIT's IPv4-translated ::ffff:0:a.b.c.d (RFC 2765) is refused whatever
  // IPv4 address it carries, not judged by it: RFC 6145 and 7915 dropped the
  // form for RFC 6052's prefixes, so no public host is reached through it, and
  // a translator that still serves it is the operator's own (like local-use
  // NAT64 below), which may lead into an IPv4 network where even a
  // public-looking address is internal.
  if (prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0}, 96))
    return "an IPv4-translated (SIIT) address";
  if (prefix(a, {0x20, 0x02}, 16)) { // 6to4: the IPv4 address follows
    auto inner = check_v4(v4_at(&a[2]));
    if (!inner.empty()) return inner + " (inside a 6to4 address)";
  }
  // Local-use NAT64 (RFC 8215): a translator of the operator's own, which may
  // reach private IPv4 networks, and the IPv4 address sits at a place that
  // depends on the prefix length, so the whole /48 is refused.
  if (prefix(a, {0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01}, 48))
    return "a local-use NAT64 address";
  if (prefix(a, {0xFC}, 7)) return "a unique-local (private) address";
  if (prefix(a, {0xFE, 0x80}, 10)) return "a link-local address";
  if (prefix(a, {0xFE, 0xC0}, 10)) return "a site-local address";
  if (prefix(a, {0xFF}, 8)) return "a multicast address";
  if (prefix(a, {0x20, 0x01, 0x0D, 0xB8}, 32)) return "a documentation address";
  if (prefix(a, {0x3F, 0xFF, 0x00}, 20)) // RFC 9637
    return "a documentation address";
  if (prefix(a, {0x5F, 0x00}, 16)) // RFC 9602: never routed on the Internet
    return "a segment routing (SRv6) address";
  if (prefix(a, {0x20, 0x01, 0x00, 0x00}, 32)) return "a Teredo address";
  if (prefix(a, {0x20, 0x01, 0x00}, 23)) return "an IETF protocol address";
  if (prefix(a, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64)) return "a discard address";
  return {};
}

} // namespace

std::string forbidden_address(const std::string& address) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, address.c_str(), buf) == 1)
    return check_v4(v4_at(buf));
  if (inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    std::array<unsigned char, 16> a;
    std::memcpy(a.data(), buf, 16);
    return check_v6(a);
  }
  return "not an IP address";
}

target check_url_form(const std::string& url) {
  target t;
  if (url.size() > 2000) {
    t.error = "the URL is longer than 2,000 characters";
    return t;
  }
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    t.error = "not an absolute URL";
    return t;
  }
  auto u = *parsed;
  t.scheme = std::string(u.scheme());
  for (auto& c : t.scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.scheme != "http" && t.scheme != "https") {
    t.error = "the URL must start with http:// or https://";
    return t;
  }
  if (u.has_userinfo()) {
    t.error = "the URL must not carry a user name or password";
    return t;
  }
  // After the authority only a path starting with "/" may come (RFC 3986);
  // Boost 1.81 reads "http://a.com:80:b.com/" as host a.com, port 80 and the
  // path ":b.com/", which other parsers read otherwise.
  if (auto path = u.encoded_path(); !path.empty() && path.front() != '/') {
    t.error = "the URL is malformed after its host and port";
    return t;
  }
  t.host = std::string(u.encoded_host_address());
  if (t.host.empty()) {
    t.error = "the URL has no host";
    return t;
  }
  if (u.has_port()) {
    // Read here: port_number() wraps ports past 65535 ("99999" passed).
    unsigned long n = 0;
    for (char c : u.port()) { // digits only (RFC 3986)
      n = n * 10 + static_cast<unsigned long>(c - '0');
      if (n > 65535) break;
    }
    if (u.port().empty() || n == 0 || n > 65535) {
      t.error = "the URL has an invalid port";
      return t;
    }
    t.port = std::to_string(n);
  } else {
    t.port = t.scheme == "https" ? "443" : "80";
  }
  return t;
}

std::string address_text(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* src = nullptr;
  if (sa->sa_family == AF_INET)
    src = &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
  else if (sa->sa_family == AF_INET6)
    src = &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  if (!src || !inet_ntop(sa->sa_family, src, text, sizeof text)) return {};
  return text;
}

target check_target(const std::string& url, bool allow_private) {
  target t = check_url_form(url);
  if (!t.error.empty()) return t;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  // getaddrinfo also reads the old spellings (2130706433, 0177.0.0.1, 0x7f.1):
  // whatever it makes of them is what gets checked.
  int rc = getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res);
  if (rc != 0) {
    t.error = "the host \"" + t.host + "\" cannot be resolved (" +
              gai_strerror(rc) + ")";
    return t;
  }
  std::string refused;
  for (auto* p = res; p; p = p->ai_next) {
    auto addr = address_text(p->ai_addr);
    if (addr.empty()) continue;
    if (std::find(t.addresses.begin(), t.addresses.end(), addr) !=
        t.addresses.end())
      continue;
    auto why = allow_private ? std::string{} : forbidden_address(addr);
    if (!why.empty()) {
      // One bad address spoils the name: a resolver may hand out either.
      refused = "the host \"" + t.host + "\" resolves to " + addr + ", " + why;
      break;
    }
    t.addresses.push_back(addr);
  }
  freeaddrinfo(res);
  if (!refused.empty()) {
    t.addresses.clear();
    t.error = refused + "; webhooks may only go to public addresses";
  } else if (t.addresses.empty()) {
    t.error = "the host \"" + t.host + "\" has no address";
  }
  return t;
}

} // namespace ls::http
