// Reads the TOML configuration, applies LINKSTACKED_<SECTION>_<KEY> overrides
// and validates every key. The keys are one table (all_keys below): each entry
// reads one key from a TOML node or from an environment variable's text, so
// both sources share the same checks and messages.
#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <toml++/toml.h>
#include <utility>

// POSIX; <unistd.h> declares it only with _GNU_SOURCE.
extern char** environ;

namespace ls::config {

namespace {

using std::chrono::milliseconds;

constexpr std::string_view env_prefix = "LINKSTACKED_";
constexpr std::string_view sandbox_client_id = "sandbox-client";
constexpr std::string_view sandbox_client_secret = "sandbox-secret";
constexpr uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024,
                   TiB = GiB * 1024;
constexpr uint64_t min_map_size = MiB;
constexpr uint64_t max_map_size = 64 * TiB;
constexpr milliseconds max_timeout = std::chrono::minutes(10);

std::string render(const std::string& file, const std::string& key,
                   const std::string& reason) {
  std::string out = file;
  out += ": ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += reason;
  return out;
}

// -- describing what was given --

std::string quote(std::string_view text) {
  constexpr size_t max_shown = 200;
  std::string out = "\"";
  size_t shown = 0;
  for (char ch : text) {
    if (++shown > max_shown) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

std::string describe(const toml::node& node) {
  if (auto* s = node.as_string()) return quote(s->get());
  if (auto* i = node.as_integer()) return std::to_string(i->get());
  if (auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto* a = node.as_array()) {
    std::string out = "[";
    for (size_t i = 0; i < a->size(); ++i) {
      if (i > 0) out += ", ";
      out += describe((*a)[i]);
    }
    return out + "]";
  }
  if (node.is_table()) return "a table";
  std::ostringstream os; // float, date, time, date-time: TOML's own spelling
  if (auto* f = node.as_floating_point())
    os << *f;
  else if (auto* d = node.as_date())
    os << *d;
  else if (auto* t = node.as_time())
    os << *t;
  else if (auto* dt = node.as_date_time())
    os << *dt;
  return os.str();
}

/// One value for one key: a node from the file or the text of an environment
/// variable.
struct input {
  const toml::node* node = nullptr;
  std::string_view text;

  bool from_env() const { return node == nullptr; }

  /// What was given, for "(got ...)". Secrets show only their length.
  std::string got(bool secret = false) const {
    if (secret) {
      auto* s = node ? node->as_string() : nullptr;
      if (from_env() || s)
        return "a string of " +
               std::to_string(from_env() ? text.size() : s->get().size()) +
               " characters";
    }
    return from_env() ? quote(text) : describe(*node);
  }
};

/// Thrown by the readers below; parse() adds where the value came from and the
/// key.
struct bad_value {
  std::string reason;
};

[[noreturn]] void fail(std::string_view requirement, const input& in,
                       bool secret = false) {
  throw bad_value{std::string(requirement) + " (got " + in.got(secret) + ")"};
}

// -- small text helpers --

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// A plain decimal number (digits only); nullopt when malformed or too big.
std::optional<uint64_t> decimal(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit))
    return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The candidate closest to `name`, when it is close enough to be a likely
/// typo.
std::optional<std::string> closest(std::string_view name,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, name.size() / 4) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(lower(name), lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// -- syntax checks --

bool valid_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool valid_ipv6(std::string_view s) {
  // An optional zone ("fe80::1%eth0") follows the address.
  std::string_view zone;
  if (auto pct = s.find('%'); pct != std::string_view::npos) {
    zone = s.substr(pct + 1);
    s = s.substr(0, pct);
    if (zone.empty() || !std::all_of(zone.begin(), zone.end(), [](char c) {
          return is_alnum(c) || c == '-' || c == '_' || c == '.';
        }))
      return false;
  }
  in6_addr a{};
  return inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

/// A DNS name or an IPv4 address (a name made only of digits and dots must be
/// an IPv4 one).
bool valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool numeric = true;
  for (char c : s) {
    if (!(is_alnum(c) || c == '-' || c == '.' || c == '_')) return false;
    if (!(is_digit(c) || c == '.')) numeric = false;
  }
  return !numeric || valid_ipv4(std::string(s));
}

std::optional<uint16_t> port_number(std::string_view s) {
  if (s.size() > 5) return std::nullopt;
  auto v = decimal(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

/// Why `url` is not an absolute http(s) URL ("" when it is one): a phrase that
/// completes "must be an absolute http or https URL, ...".
std::string url_problem(std::string_view url, bool allow_query) {
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "without spaces or control characters";
  auto sep = url.find("://");
  if (sep == std::string_view::npos || (lower(url.substr(0, sep)) != "http" &&
                                        lower(url.substr(0, sep)) != "https"))
    return "starting with http:// or https://";
  if (url.find('#') != std::string_view::npos)
    return "without a fragment (#...)";
  auto rest = url.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  auto tail = rest.substr(authority.size());
  if (!allow_query && tail.find('?') != std::string_view::npos)
    return "without a query (?...)";
  if (authority.find('@') != std::string_view::npos)
    return "without user info (user@)";
  std::string_view host, port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos ||
        !valid_ipv6(authority.substr(1, close - 1)))
      return "with a valid IPv6 address in brackets";
    host = authority.substr(0, close + 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "with a valid IPv6 address in brackets";
      has_port = true;
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return "with a host";
    if (!valid_host_name(host)) return "with a valid host name";
  }
  if (host.empty()) return "with a host";
  if (has_port) {
    auto p = port_number(port);
    if (!p || *p == 0) return "with a port from 1 to 65535";
  }
  return "";
}

/// Lower-cases the scheme ("HTTPS://" -> "https://") and removes trailing
/// slashes after the host ("http://x:1/" -> "http://x:1"), so that callers can
/// test the scheme and append "/path".
std::string normalized(std::string url) {
  auto scheme_end = url.find("://");
  url = lower(url.substr(0, scheme_end)) + url.substr(scheme_end);
  auto path_start = url.find('/', scheme_end + 3);
  while (path_start != std::string::npos && url.size() > path_start &&
         url.back() == '/')
    url.pop_back();
  return url;
}

// -- readers --
// One per kind of value; each throws bad_value with the key's requirement.

std::string text(const input& in, std::string_view requirement,
                 bool secret = false) {
  if (in.from_env()) return std::string(in.text);
  if (auto* s = in.node->as_string()) return s->get();
  fail(requirement, in, secret);
}

uint64_t integer(const input& in, uint64_t lo, uint64_t hi) {
  std::string requirement = "must be an integer from " + std::to_string(lo) +
                            " to " + std::to_string(hi);
  std::optional<uint64_t> v;
  if (in.from_env()) {
    v = decimal(trim(in.text));
  } else if (auto* i = in.node->as_integer(); i && i->get() >= 0) {
    v = static_cast<uint64_t>(i->get());
  }
  if (!v || *v < lo || *v > hi) fail(requirement, in);
  return *v;
}

unsigned small_integer(const input& in, unsigned lo, unsigned hi) {
  return static_cast<unsigned>(integer(in, lo, hi));
}

bool boolean(const input& in) {
  constexpr std::string_view requirement = "must be true or false";
  if (in.from_env()) {
    auto t = lower(trim(in.text));
    if (t == "true" || t == "1") return true;
    if (t == "false" || t == "0") return false;
    fail(std::string(requirement) + " (or 1 or 0)", in);
  }
  if (auto* b = in.node->as_boolean()) return b->get();
  fail(requirement, in);
}

std::string one_of(const input& in,
                   std::initializer_list<std::string_view> choices) {
  std::string requirement = "must be one of ";
  for (auto c : choices) {
    if (c != *choices.begin()) requirement += ", ";
    requirement += c;
  }
  auto v = text(in, requirement);
  if (std::find(choices.begin(), choices.end(), v) == choices.end())
    fail(requirement, in);
  return v;
}

std::string non_empty(const input& in, std::string_view requirement) {
  auto v = text(in, requirement);
  if (v.empty()) fail(requirement, in);
  return v;
}

std::string listen_address(const input& in) {
  constexpr std::string_view requirement =
      "must be host:port or [ipv6]:port with a port from 0 to 65535";
  auto v = text(in, requirement);
  if (!parse_host_port(v)) fail(requirement, in);
  return v;
}

/// http(s)://127.0.0.1…, ://[::1]…, ://localhost…: this machine only.
bool is_loopback_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  auto rest = url.substr(sep + 3);
  for (std::string_view host : {"127.0.0.1", "[::1]", "localhost"})
    if (rest.substr(0, host.size()) == host &&
        (rest.size() == host.size() || rest[host.size()] == ':' ||
         rest[host.size()] == '/'))
      return true;
  return false;
}

struct url_rules {
  bool allow_query = false;
  bool normalize = true;       ///< lower-case scheme, no trailing slash
  bool dc_placeholder = false; ///< must contain {dc}
};

std::string check_url(const input& in, std::string value, url_rules rules) {
  std::string requirement = "must be an absolute http or https URL";
  if (rules.dc_placeholder) {
    requirement += " containing {dc}";
    auto dc = value.find("{dc}");
    // A loopback URL (the standalone Mailchimp simulator in tests) has one data
    // center.
    if (dc == std::string::npos && !is_loopback_url(value))
      fail(requirement, in);
    std::string probe = value;
    for (auto at = probe.find("{dc}"); at != std::string::npos;
         at = probe.find("{dc}"))
      probe.replace(at, 4, "us1");
    if (auto problem = url_problem(probe, rules.allow_query); !problem.empty())
      fail(requirement + ", " + problem, in);
  } else if (auto problem = url_problem(value, rules.allow_query);
             !problem.empty()) {
    fail(requirement + ", " + problem, in);
  }
  return rules.normalize ? normalized(std::move(value)) : value;
}

std::string url(const input& in, url_rules rules = {}) {
  return check_url(in, text(in, "must be an absolute http or https URL"),
                   rules);
}

std::vector<std::string> url_list(const input& in) {
  constexpr std::string_view requirement =
      "must be a non-empty list of absolute http or https URLs";
  std::vector<std::string> items;
  if (in.from_env()) {
    if (!trim(in.text).empty()) {
      std::string_view rest = in.text;
      for (;;) {
        auto comma = rest.find(',');
        items.emplace_back(trim(rest.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  } else if (auto* a = in.node->as_array()) {
    for (const auto& item : *a) {
      auto* s = item.as_string();
      if (!s) fail(requirement, in);
      items.push_back(s->get());
    }
  } else {
    fail(requirement, in);
  }
  if (items.empty()) fail(requirement, in);
  url_rules rules{.allow_query = true, .normalize = false};
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      check_url(input{nullptr, items[i]}, items[i], rules);
    } catch (const bad_value& e) {
      throw bad_value{"entry " + std::to_string(i + 1) + " " + e.reason};
    }
  }
  return items;
}

std::string duration_text(milliseconds d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

/// Integer seconds, or a string of digits with a unit: ms, s, m or h (no unit:
/// seconds).
milliseconds duration(const input& in, milliseconds max) {
  std::string requirement =
      "must be a duration from 1ms to " + duration_text(max) +
      ": integer seconds or a string such as \"120s\", \"500ms\" or \"2m\"";
  std::optional<uint64_t> ms;
  auto from_text = [&](std::string_view t) -> std::optional<uint64_t> {
    t = trim(t);
    size_t digits = 0;
    while (digits < t.size() && is_digit(t[digits]))
      ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    auto n = decimal(t.substr(0, digits));
    auto unit = trim(t.substr(digits));
    if (unit == "ms") return *n;
    if (unit == "s" || unit.empty()) return *n * 1000;
    if (unit == "m") return *n * 60'000;
    if (unit == "h") return *n * 3'600'000;
    return std::nullopt;
  };
  if (in.from_env()) {
    ms = from_text(in.text);
  } else if (auto* s = in.node->as_string()) {
    ms = from_text(s->get());
  } else if (auto* i = in.node->as_integer();
             i && i->get() >= 0 && i->get() <= 1'000'000'000) {
    ms = static_cast<uint64_t>(i->get()) * 1000;
  }
  if (!ms || *ms == 0 || *ms > static_cast<uint64_t>(max.count()))
    fail(requirement, in);
  return milliseconds(static_cast<milliseconds::rep>(*ms));
}

/// Bytes as an integer, or a string of digits with a binary unit (KiB, MiB,
/// GiB, TiB).
uint64_t size(const input& in) {
  constexpr std::string_view requirement =
      "must be a size from 1MiB to 64TiB: bytes as an integer, or a string "
      "such as \"512MiB\" or \"4GiB\" (units KiB, MiB, GiB, TiB)";
  std::optional<uint64_t> bytes;
  auto from_text = [](std::string_view t) -> std::optional<uint64_t> {
    t = trim(t);
    size_t digits = 0;
    while (digits < t.size() && is_digit(t[digits]))
      ++digits;
    if (digits == 0 || digits > 15) return std::nullopt;
    auto n = *decimal(t.substr(0, digits));
    auto unit = trim(t.substr(digits));
    uint64_t scale = 0;
    if (unit.empty() || unit == "B")
      scale = 1;
    else if (unit == "KiB")
      scale = KiB;
    else if (unit == "MiB")
      scale = MiB;
    else if (unit == "GiB")
      scale = GiB;
    else if (unit == "TiB")
      scale = TiB;
    if (scale == 0 || n > max_map_size / scale) return std::nullopt;
    return n * scale;
  };
  if (in.from_env()) {
    bytes = from_text(in.text);
  } else if (auto* s = in.node->as_string()) {
    bytes = from_text(s->get());
  } else if (auto* i = in.node->as_integer(); i && i->get() >= 0) {
    bytes = static_cast<uint64_t>(i->get());
  }
  if (!bytes || *bytes < min_map_size || *bytes > max_map_size)
    fail(requirement, in);
  return *bytes;
}

/// A bearer token of ours: empty (`when_empty` says what that means) or at
/// least 16 printable characters without spaces. Never echoed.
std::string bearer_token(const input& in, std::string_view when_empty) {
  const std::string requirement =
      "must be empty (" + std::string(when_empty) +
      ") or at least 16 printable characters without spaces";
  auto v = text(in, requirement, true);
  if (v.empty()) return v;
  if (v.size() < 16 || !std::all_of(v.begin(), v.end(), [](char c) {
        return c > 0x20 && c < 0x7f;
      }))
    fail(requirement, in, true);
  return v;
}

// -- the keys --

struct key_def {
  std::string_view section, name;
  void (*apply)(config&, const input&);

  std::string dotted() const {
    return std::string(section) + "." + std::string(name);
  }
  std::string variable() const {
    return std::string(env_prefix) + upper(section) + "_" + upper(name);
  }
};

const std::array all_keys = {
    key_def{"server", "listen",
            [](config& c, const input& in) {
              c.server.listen = listen_address(in);
            }},
    key_def{"server", "public_url",
            [](config& c, const input& in) { c.server.public_url = url(in); }},
    key_def{"server", "threads",
            [](config& c, const input& in) {
              c.server.threads = small_integer(in, 1, 64);
            }},
    key_def{"storage", "path",
            [](config& c, const input& in) {
              c.storage.path = non_empty(in, "must be a non-empty path");
            }},
    key_def{"storage", "map_size",
            [](config& c, const input& in) { c.storage.map_size = size(in); }},
    key_def{"security", "secret_key_file",
            [](config& c, const input& in) {
              c.security.secret_key_file =
                  non_empty(in, "must be a non-empty path");
            }},
    key_def{"security", "hash_threads",
            [](config& c, const input& in) {
              c.security.hash_threads = small_integer(in, 0, 64);
            }},
    key_def{"security", "hash_queue",
            [](config& c, const input& in) {
              c.security.hash_queue = small_integer(in, 0, 10'000);
            }},
    key_def{"mailchimp", "mode",
            [](config& c, const input& in) {
              c.mailchimp.mode = one_of(in, {"sandbox", "live"});
            }},
    key_def{"mailchimp", "client_id",
            [](config& c, const input& in) {
              c.mailchimp.client_id = text(in, "must be a string");
            }},
    key_def{"mailchimp", "client_secret",
            [](config& c, const input& in) {
              c.mailchimp.client_secret = text(in, "must be a string", true);
            }},
    key_def{"mailchimp", "redirect_uris",
            [](config& c, const input& in) {
              c.mailchimp.redirect_uris = url_list(in);
            }},
    key_def{"mailchimp", "oauth_base_url",
            [](config& c, const input& in) {
              c.mailchimp.oauth_base_url = url(in);
            }},
    key_def{"mailchimp", "api_base_url",
            [](config& c, const input& in) {
              c.mailchimp.api_base_url = url(in, {.dc_placeholder = true});
            }},
    key_def{"mailchimp", "max_connections",
            [](config& c, const input& in) {
              c.mailchimp.max_connections = small_integer(in, 1, 10);
            }},
    key_def{"mailchimp", "batch_size",
            [](config& c, const input& in) {
              c.mailchimp.batch_size = small_integer(in, 1, 500);
            }},
    key_def{"mailchimp", "request_timeout",
            [](config& c, const input& in) {
              c.mailchimp.request_timeout = duration(in, max_timeout);
            }},
    key_def{"mailchimp", "sandbox_listen",
            [](config& c, const input& in) {
              c.mailchimp.sandbox_listen = listen_address(in);
            }},
    key_def{"mailchimp", "sandbox_control_token",
            [](config& c, const input& in) {
              c.mailchimp.sandbox_control_token =
                  bearer_token(in, "a random one per start");
            }},
    key_def{"webhooks", "allow_private_targets",
            [](config& c, const input& in) {
              c.webhooks.allow_private_targets = boolean(in);
            }},
    key_def{"webhooks", "timeout",
            [](config& c, const input& in) {
              c.webhooks.timeout = duration(in, max_timeout);
            }},
    key_def{"ratelimit", "subscribe_per_ip",
            [](config& c, const input& in) {
              c.ratelimit.subscribe_per_ip = small_integer(in, 0, 1'000'000);
            }},
    key_def{"ratelimit", "subscribe_per_handle",
            [](config& c, const input& in) {
              c.ratelimit.subscribe_per_handle =
                  small_integer(in, 0, 1'000'000);
            }},
    key_def{"ratelimit", "signup_per_ip",
            [](config& c, const input& in) {
              c.ratelimit.signup_per_ip = small_integer(in, 0, 1'000'000);
            }},
    key_def{"ratelimit", "connect_per_account",
            [](config& c, const input& in) {
              c.ratelimit.connect_per_account = small_integer(in, 0, 1'000'000);
            }},
    key_def{"admin", "token",
            [](config& c, const input& in) {
              c.admin.token = bearer_token(in, "admin API off");
            }},
    key_def{"metrics", "token",
            [](config& c, const input& in) {
              c.metrics.token = bearer_token(in, "/metrics open");
            }},
    key_def{"log", "level",
            [](config& c, const input& in) {
              c.log.level = one_of(in, {"trace", "debug", "info", "warn",
                                        "error", "critical", "off"});
            }},
    key_def{"log", "format",
            [](config& c, const input& in) {
              c.log.format = one_of(in, {"text", "json"});
            }},
};

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& k : all_keys)
    if (out.empty() || out.back() != k.section) out.emplace_back(k.section);
  return out;
}

std::vector<std::string> key_names(std::string_view section) {
  std::vector<std::string> out;
  for (const auto& k : all_keys)
    if (k.section == section) out.emplace_back(k.name);
  return out;
}

const key_def* find_key(std::string_view section, std::string_view name) {
  for (const auto& k : all_keys)
    if (k.section == section && k.name == name) return &k;
  return nullptr;
}

/// Where each key's value came from: the file (or nothing: the default) or a
/// variable.
class origins {
public:
  explicit origins(std::string file) : file_(std::move(file)) {}
  void set(std::string key, std::string origin) {
    map_[std::move(key)] = std::move(origin);
  }
  const std::string& of(const std::string& key) const {
    auto i = map_.find(key);
    return i == map_.end() ? file_ : i->second;
  }

private:
  std::string file_;
  std::map<std::string, std::string> map_;
};

void apply(const key_def& def, config& c, const input& in,
           const std::string& origin) {
  try {
    def.apply(c, in);
  } catch (const bad_value& e) {
    throw config_error(origin, def.dotted(), e.reason);
  }
}

struct file_entry {
  toml::source_position position;
  std::string section;
  const toml::node* node;
};

void read_file(const toml::table& root, const std::string& file, config& c,
               origins& from) {
  // Report problems in the order they appear in the file.
  std::vector<file_entry> entries;
  for (auto&& [key, node] : root)
    entries.push_back({node.source().begin, std::string(key.str()), &node});
  std::stable_sort(entries.begin(), entries.end(),
                   [](auto& a, auto& b) { return a.position < b.position; });
  for (const auto& entry : entries) {
    const auto& section = entry.section;
    auto sections = section_names();
    if (std::find(sections.begin(), sections.end(), section) ==
        sections.end()) {
      std::string reason = entry.node->is_table() ? "unknown section"
                                                  : "unknown key outside any "
                                                    "section";
      if (auto guess = closest(section, sections))
        reason += " (did you mean [" + *guess + "]?)";
      else
        reason += "; the sections are " + join(sections, ", ");
      throw config_error(file, section, reason);
    }
    auto* table = entry.node->as_table();
    if (entry.node->is_array_of_tables())
      throw config_error(file, section,
                         "must be a single table, written [" + section +
                             "], not [[" + section + "]]");
    if (!table)
      throw config_error(file, section,
                         "must be a table, written [" + section + "] (got " +
                             describe(*entry.node) + ")");
    std::vector<std::pair<toml::source_position, std::string>> keys;
    for (auto&& [key, node] : *table)
      keys.emplace_back(node.source().begin, std::string(key.str()));
    std::stable_sort(keys.begin(), keys.end(),
                     [](auto& a, auto& b) { return a.first < b.first; });
    for (const auto& [position, name] : keys) {
      const auto* def = find_key(section, name);
      if (!def) {
        auto names = key_names(section);
        std::string reason = "unknown key";
        if (auto guess = closest(name, names))
          reason += " (did you mean " + section + "." + *guess + "?)";
        else
          reason += "; [" + section + "] has " + join(names, ", ");
        throw config_error(file, section + "." + name, reason);
      }
      apply(*def, c, input{table->get(name), {}}, file);
      from.set(def->dotted(), file);
    }
  }
}

void read_environment(const environment& env, config& c, origins& from) {
  for (const auto& [variable, value] : env) {
    if (!std::string_view(variable).starts_with(env_prefix)) continue;
    const key_def* def = nullptr;
    for (const auto& k : all_keys)
      if (k.variable() == variable) def = &k;
    if (!def) {
      std::vector<std::string> known;
      for (const auto& k : all_keys)
        known.push_back(k.variable());
      std::string reason = "unknown configuration variable";
      if (auto guess = closest(variable, known))
        reason += " (did you mean " + *guess + "?)";
      else
        reason += "; the variables are LINKSTACKED_<SECTION>_<KEY>, such as "
                  "LINKSTACKED_SERVER_LISTEN (see config/README.md)";
      throw config_error(variable, "", reason);
    }
    apply(*def, c, input{nullptr, value}, variable);
    from.set(def->dotted(), variable);
  }
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

/// Rules between keys, checked once every source is applied.
void check_together(const config& c, const origins& from) {
  const auto& mc = c.mailchimp;
  if (mc.mode == "live") {
    auto check_credential = [&](const std::string& key,
                                const std::string& value,
                                std::string_view sandbox_value,
                                std::string_view what) {
      if (value.empty())
        throw config_error(from.of(key), key,
                           "must be set to your Mailchimp app's " +
                               std::string(what) +
                               " when mailchimp.mode is live");
      if (value == sandbox_value)
        throw config_error(from.of(key), key,
                           "must be your Mailchimp app's " + std::string(what) +
                               ", not the sandbox one, when mailchimp.mode is "
                               "live (got " +
                               quote(value) + ")");
    };
    check_credential("mailchimp.client_id", mc.client_id, sandbox_client_id,
                     "client id");
    check_credential("mailchimp.client_secret", mc.client_secret,
                     sandbox_client_secret, "client secret");
    for (const auto& [key, value] :
         {std::pair{"mailchimp.oauth_base_url", mc.oauth_base_url},
          std::pair{"mailchimp.api_base_url", mc.api_base_url}})
      // Plain http only to this machine: the standalone simulator in tests.
      if (lower(value.substr(0, 8)) != "https://" && !is_loopback_url(value))
        throw config_error(from.of(key), key,
                           "must be an https URL when mailchimp.mode is live "
                           "(got " +
                               quote(value) + ")");
  } else {
    // The simulator runs in process in sandbox mode: it needs its own port.
    auto server = parse_host_port(c.server.listen);
    auto sandbox = parse_host_port(mc.sandbox_listen);
    if (server && sandbox && server->port != 0 &&
        server->port == sandbox->port &&
        (server->host == sandbox->host || is_wildcard(server->host) ||
         is_wildcard(sandbox->host)))
      throw config_error(from.of("mailchimp.sandbox_listen"),
                         "mailchimp.sandbox_listen",
                         "must not use the port of server.listen (got " +
                             quote(mc.sandbox_listen) + ", server.listen is " +
                             quote(c.server.listen) + ")");
  }
}

} // namespace

config_error::config_error(std::string file, std::string key,
                           std::string reason)
    : std::runtime_error(render(file, key, reason)), file_(std::move(file)),
      key_(std::move(key)), reason_(std::move(reason)) {}

std::optional<host_port> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  auto port = port_number(text.substr(colon + 1));
  if (!port) return std::nullopt;
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']')) return std::nullopt;
    host = host.substr(1, host.size() - 2);
    if (!valid_ipv6(host)) return std::nullopt;
  } else if (!valid_host_name(host)) {
    return std::nullopt;
  }
  return host_port{std::string(host), *port};
}

environment process_environment() {
  environment out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with(env_prefix)) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)),
                std::string(entry.substr(eq + 1)));
  }
  return out;
}

config parse(std::string_view toml_text, std::string_view file_name,
             const environment& env) {
  const std::string file(file_name);
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw config_error(file, "",
                       "TOML syntax error at line " + std::to_string(at.line) +
                           ", column " + std::to_string(at.column) + ": " +
                           std::string(e.description()));
  }
  config c;
  origins from(file);
  read_file(root, file, c, from);
  read_environment(env, c, from);
  check_together(c, from);
  return c;
}

config load(const std::string& path, const environment& env) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw config_error(path, "",
                       "cannot read: " + std::string(strerror(errno)));
  std::string contents;
  char buffer[8192];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
    contents.append(buffer, n);
  int error = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (error != 0)
    throw config_error(path, "",
                       "cannot read: " + std::string(strerror(error)));
  return parse(contents, path, env);
}

std::optional<command> parse_command_line(int argc, char** argv,
                                          int& exit_code) {
  CLI::App app{"LinkStacked email-integrations server: subscribe forms, "
               "webhooks and Mailchimp sync.",
               "linkstacked"};
  app.footer("Configuration: a TOML file (every key optional); "
             "LINKSTACKED_<SECTION>_<KEY>\nenvironment variables override it. "
             "See config/README.md.");
  app.require_subcommand(1);
  command cmd;
  const std::string config_help = "TOML configuration file";

  auto* serve = app.add_subcommand(
      "serve", "Run the server (in sandbox mode with the Mailchimp simulator)");
  serve->add_option("-c,--config", cmd.config_path, config_help)
      ->type_name("FILE")
      ->capture_default_str();

  auto* check = app.add_subcommand(
      "check-config",
      "Validate the configuration (file and environment) and exit");
  check->add_option("-c,--config", cmd.config_path, config_help)
      ->type_name("FILE")
      ->capture_default_str();

  auto* account = app.add_subcommand("account", "Manage accounts");
  account->require_subcommand(1);
  auto* create = account->add_subcommand("create", "Create an account");
  create->add_option("-c,--config", cmd.config_path, config_help)
      ->type_name("FILE")
      ->capture_default_str();
  create->add_option("--email", cmd.email, "The account's email address")
      ->type_name("EMAIL")
      ->required();
  create->add_option("--handle", cmd.handle, "Public handle: 2-30 of a-z0-9_-")
      ->type_name("HANDLE")
      ->required();
  create->add_option("--password", cmd.password, "The account's password")
      ->type_name("PASSWORD")
      ->required();

  if (argc <= 1) {
    std::cerr << app.help();
    exit_code = 2;
    return std::nullopt;
  }
  // CLI11 reports a mistyped subcommand as "A subcommand is required": name it
  // instead.
  for (auto [level, at] : {std::pair<CLI::App*, int>{&app, 1}, {account, 2}}) {
    if (at >= argc || (at == 2 && std::string_view(argv[1]) != "account"))
      continue;
    std::string_view word = argv[at];
    if (word.starts_with('-')) continue;
    std::vector<std::string> names;
    for (const auto* sub :
         level->get_subcommands([](CLI::App*) { return true; }))
      names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), word) == names.end()) {
      std::cerr << "unknown subcommand \"" << word << "\" (the subcommands"
                << (at == 2 ? " of account" : "") << " are "
                << join(names, ", ")
                << ")\nRun with --help for more information.\n";
      exit_code = 2;
      return std::nullopt;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e); // prints the help or the error
    if (exit_code != 0) exit_code = 2;
    return std::nullopt;
  }
  if (serve->parsed())
    cmd.what = command::serve;
  else if (check->parsed())
    cmd.what = command::check_config;
  else
    cmd.what = command::account_create;
  exit_code = 0;
  return cmd;
}

} // namespace ls::config
