// The URL part of the webhook SSRF guard (http/client/target_guard.hpp:
// check_url_form), and the whole guard for URLs whose host is an address
// literal in any spelling the resolver reads without DNS (no lookup happens).
// Properties: an accepted URL has scheme http or https, a host, a port of
// 1..65535 and no user info; the host handed to the resolver is what the URL
// names (an IPv6 literal without brackets); and check_target refuses a literal
// host exactly when forbidden_address refuses the address it stands for.
#include "fuzz.hpp"
#include "http/client/target_guard.hpp"

#include <algorithm>
#include <netdb.h>
#include <sys/socket.h>
#include <vector>

namespace {

/// The addresses a numeric host stands for (getaddrinfo without DNS: glibc
/// also reads "*" this way, as ::1 and 127.0.0.1), in order, without repeats.
std::vector<std::string> numeric_addresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(host.c_str(), "80", &hints, &res) != 0) return out;
  for (auto* p = res; p; p = p->ai_next) {
    auto text = ls::http::address_text(p->ai_addr);
    if (!text.empty() && std::find(out.begin(), out.end(), text) == out.end())
      out.push_back(std::move(text));
  }
  freeaddrinfo(res);
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  auto t = ls::http::check_url_form(url);
  FUZZ_CHECK(t.addresses.empty(), url);
  if (!t.error.empty()) return 0;

  FUZZ_CHECK(url.size() <= 2000, url);
  FUZZ_CHECK(t.scheme == "http" || t.scheme == "https", url);
  FUZZ_CHECK(!t.host.empty(), url);
  FUZZ_CHECK(!t.port.empty(), url);
  unsigned long port = 0;
  for (char c : t.port) {
    FUZZ_CHECK(c >= '0' && c <= '9', url);
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) break;
  }
  FUZZ_CHECK(port >= 1 && port <= 65535, url + " port " + t.port);
  auto authority_end = url.find_first_of("/?#", url.find("//") + 2);
  auto authority = url.substr(0, authority_end);
  FUZZ_CHECK(authority.find('@') == std::string::npos, url);
  FUZZ_CHECK(t.host.find('[') == std::string::npos &&
                 t.host.find(']') == std::string::npos,
             url + " host " + t.host);

  // A literal host: the whole guard, with no DNS involved.
  auto addresses = numeric_addresses(t.host);
  auto bracket = authority.find('[');
  if (bracket != std::string::npos && bracket + 1 < authority.size() &&
      authority[bracket + 1] != 'v' && authority[bracket + 1] != 'V')
    FUZZ_CHECK(!addresses.empty(), url + " host " + t.host); // not IPvFuture
  if (addresses.empty()) return 0;
  auto full = ls::http::check_target(url, false);
  std::string why;
  for (auto& a : addresses)
    if (why.empty()) why = ls::http::forbidden_address(a);
  FUZZ_CHECK(full.error.empty() == why.empty(), url + " -> " +
                                                    addresses.front() + ": " +
                                                    full.error + " / " + why);
  if (full.error.empty()) FUZZ_CHECK(full.addresses == addresses, url);
  auto allowed = ls::http::check_target(url, true);
  FUZZ_CHECK(allowed.error.empty() && allowed.addresses == addresses,
             url + " -> " + allowed.error);
  return 0;
}
