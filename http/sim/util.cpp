// Helpers of the Mailchimp simulator: ids, hashes, times, addresses,
// Mailchimp's error shape, JSON input, and the state's lookups.
#include "http/codec/form.hpp"
#include "http/sim/internal.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <openssl/evp.h>
#include <sodium.h>

namespace ls::mcsim::detail {

// -- state lookups
// ---------------------------------------------------------------

user* state::find_user(std::string_view login) {
  for (auto& u : users)
    if (u.login == login) return &u;
  return nullptr;
}

audience* state::find_list(std::string_view id) {
  auto it = lists.find(std::string(id));
  return it == lists.end() ? nullptr : &it->second;
}

namespace {

/// A token bound to `login` and its epoch: 16 hex of nonce, 16 hex of MAC. Lets
/// a restarted simulator with the same key accept the tokens it issued before
/// (options::token_key).
std::string keyed_token(std::string_view key, const user& u,
                        std::string_view nonce) {
  auto mac = hmac_hex(key, u.login + "|" + std::to_string(u.token_epoch) + "|" +
                               std::string(nonce));
  return std::string(nonce) + mac.substr(0, 16);
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

} // namespace

const std::string* state::token_owner(const std::string& token) {
  auto it = tokens.find(token);
  if (it != tokens.end()) return &it->second;
  if (token_key.empty() || token.size() != 32 || !is_hex(token)) return nullptr;
  auto nonce = std::string_view(token).substr(0, 16);
  for (auto& u : users) {
    if (keyed_token(token_key, u, nonce) == token) {
      auto [ins, ok] = tokens.emplace(token, u.login);
      return &ins->second;
    }
  }
  return nullptr;
}

std::string state::issue_token(const std::string& login) {
  std::string token;
  auto* u = find_user(login);
  if (!token_key.empty() && u)
    token = keyed_token(token_key, *u, random_hex(16));
  else
    token = random_hex(32);
  tokens[token] = login;
  return token;
}

// -- ids and hashes
// --------------------------------------------------------------

std::string random_hex(size_t chars) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(chars, '0');
  std::vector<unsigned char> bytes((chars + 1) / 2);
  randombytes_buf(bytes.data(), bytes.size());
  for (size_t i = 0; i < chars; ++i) {
    auto b = bytes[i / 2];
    out[i] = digits[(i % 2 == 0) ? (b >> 4) : (b & 0xF)];
  }
  return out;
}

int64_t random_number(int64_t lo, int64_t hi) {
  auto span = static_cast<uint32_t>(std::min<int64_t>(hi - lo + 1, UINT32_MAX));
  return lo + static_cast<int64_t>(randombytes_uniform(span));
}

std::string uuid4() {
  std::array<unsigned char, 16> b{};
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%"
                "02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

namespace {

std::string to_hex(const unsigned char* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xF]);
  }
  return out;
}

} // namespace

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1)
    return {};
  return to_hex(md, len);
}

std::string hmac_hex(std::string_view key, std::string_view data) {
  unsigned char k[crypto_auth_hmacsha256_KEYBYTES]{};
  // Keys of any length: hash them to the MAC's key size.
  crypto_hash_sha256(k, reinterpret_cast<const unsigned char*>(key.data()),
                     key.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(
      mac, reinterpret_cast<const unsigned char*>(data.data()), data.size(), k);
  return to_hex(mac, sizeof mac);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
  };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

std::string now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

std::string subscriber_hash(std::string_view email) {
  return md5_hex(lower(trim(email)));
}

// -- addresses
// -------------------------------------------------------------------

bool valid_email_syntax(std::string_view email) {
  if (email.empty() || email.size() > 254) return false;
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos)
    return false;
  auto local = email.substr(0, at);
  auto domain = email.substr(at + 1);
  if (local.size() > 64 || domain.empty()) return false;
  static constexpr std::string_view local_specials = "!#$%&'*+/=?^_`{|}~.-";
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  };
  for (char c : local)
    if (!alnum(c) && local_specials.find(c) == std::string_view::npos)
      return false;
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos)
    return false;
  // Domain: two or more labels of letters, digits and inner hyphens; the last
  // label (TLD) is letters only, two or more.
  size_t labels = 0;
  std::string_view last;
  std::string_view rest = domain;
  for (;;) {
    auto dot = rest.find('.');
    auto label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-')
      return false;
    for (char c : label)
      if (!alnum(c) && c != '-') return false;
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (labels < 2 || last.size() < 2) return false;
  return std::all_of(last.begin(), last.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

bool looks_fake(std::string_view email) {
  auto e = lower(trim(email));
  auto at = e.rfind('@');
  if (at == std::string::npos) return false;
  std::string_view domain = std::string_view(e).substr(at + 1);
  static constexpr std::string_view fake_domains[] = {
      "example.com", "example.org", "example.net", "test.com"};
  for (auto d : fake_domains) {
    if (domain == d) return true;
    // Subdomains too: mail.example.com.
    if (domain.size() > d.size() + 1 && domain.ends_with(d) &&
        domain[domain.size() - d.size() - 1] == '.')
      return true;
  }
  // Reserved top-level domains (RFC 2606): .test, .example, .invalid,
  // .localhost.
  static constexpr std::string_view reserved_tlds[] = {
      ".test", ".example", ".invalid", ".localhost"};
  for (auto t : reserved_tlds)
    if (domain.ends_with(t)) return true;
  return false;
}

std::string redirect_uri_problem(std::string_view uri, std::string* origin) {
  for (char c : uri)
    if (static_cast<unsigned char>(c) <= 0x20 ||
        static_cast<unsigned char>(c) >= 0x7f)
      return "with printable ASCII only (no spaces)";
  auto sep = uri.find("://");
  auto scheme = lower(uri.substr(0, sep));
  // Anything else (javascript:, data:, a relative path) would turn the code
  // redirect into script or a request to who knows where.
  if (sep == std::string_view::npos || (scheme != "http" && scheme != "https"))
    return "starting with http:// or https://";
  if (uri.find('#') != std::string_view::npos)
    return "without a fragment (#...)";
  auto rest = uri.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos)
    return "without user info (user@)";
  std::string_view host, port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos || close < 3 ||
        !std::all_of(authority.begin() + 1, authority.begin() + close,
                     [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c)) ||
                              c == ':' || c == '.';
                     }))
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
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                 c == '.' || c == '_';
        }))
      return "with a valid host name";
  }
  if (has_port) {
    unsigned n = 0;
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        (n = static_cast<unsigned>(std::stoul(std::string(port)))) == 0 ||
        n > 65535)
      return "with a port from 1 to 65535";
  }
  if (origin) {
    *origin = scheme + "://" + lower(host);
    if (has_port) *origin += ":" + std::string(port);
  }
  return {};
}

std::string base64(std::string_view bytes) {
  std::string out(
      sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL),
      '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> query_param(std::string_view query,
                                       std::string_view key) {
  auto pairs = form::parse(query);
  if (!pairs) return std::nullopt;
  return form::first(*pairs, key);
}

void paging(std::string_view query, size_t& count, size_t& offset) {
  count = 10;
  offset = 0;
  auto number = [](const std::optional<std::string>& s, size_t& out) -> bool {
    if (!s || s->empty() || s->size() > 18) return false;
    if (!std::all_of(s->begin(), s->end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    out = std::stoull(*s);
    return true;
  };
  size_t n = 0;
  if (number(query_param(query, "count"), n)) count = std::min<size_t>(n, 1000);
  if (number(query_param(query, "offset"), n)) offset = n;
}

// -- responses
// -------------------------------------------------------------------

http::response
mc_problem(unsigned status, std::string_view title, std::string_view detail,
           const std::vector<std::pair<std::string, std::string>>& errors) {
  auto instance = uuid4();
  json::writer w;
  w.begin_object()
      .key("type")
      .value("https://mailchimp.com/developer/marketing/docs/errors/")
      .key("title")
      .value(title)
      .key("status")
      .value(status)
      .key("detail")
      .value(detail)
      .key("instance")
      .value(instance);
  if (!errors.empty()) {
    w.key("errors").begin_array();
    for (auto& [field, message] : errors)
      w.begin_object()
          .key("field")
          .value(field)
          .key("message")
          .value(message)
          .end_object();
    w.end_array();
  }
  w.end_object();
  http::response r;
  r.status = status;
  r.set("content-type", "application/problem+json; charset=utf-8");
  r.set("x-request-id", instance);
  r.body = std::move(w).str();
  return r;
}

http::response json_response(unsigned status, std::string body) {
  http::response r;
  r.status = status;
  r.set("content-type", "application/json; charset=utf-8");
  r.set("x-request-id", uuid4());
  r.body = std::move(body);
  return r;
}

http::response not_found() {
  return mc_problem(404, "Resource Not Found",
                    "The requested resource could not be found.");
}

http::response json_parse_error() {
  return mc_problem(400, "JSON Parse Error",
                    "We encountered an unspecified JSON parsing error.");
}

http::response
invalid_resource(const std::vector<std::pair<std::string, std::string>>& errors,
                 std::string_view detail) {
  if (detail.empty())
    detail = "The resource submitted could not be validated. For "
             "field-specific details, see the 'errors' array.";
  return mc_problem(400, "Invalid Resource", detail, errors);
}

// -- JSON input
// ------------------------------------------------------------------

bool json_doc::parse(std::string_view body) {
  if (trim(body).empty()) return false;
  simdjson::padded_string padded(body);
  // The parser keeps its own copy of the document.
  return !parser.parse(padded).get(root);
}

std::optional<simdjson::dom::element> get_field(simdjson::dom::element obj,
                                                std::string_view key) {
  if (!obj.is_object()) return std::nullopt;
  simdjson::dom::element v;
  if (obj.get_object().at_key(key).get(v)) return std::nullopt;
  return v;
}

std::optional<std::string_view> get_string(simdjson::dom::element obj,
                                           std::string_view key) {
  auto v = get_field(obj, key);
  if (!v || !v->is_string()) return std::nullopt;
  std::string_view s;
  if (v->get_string().get(s)) return std::nullopt;
  return s;
}

std::optional<bool> get_bool(simdjson::dom::element obj, std::string_view key) {
  auto v = get_field(obj, key);
  if (!v || !v->is_bool()) return std::nullopt;
  bool b = false;
  if (v->get_bool().get(b)) return std::nullopt;
  return b;
}

std::optional<int64_t> get_int(simdjson::dom::element obj,
                               std::string_view key) {
  auto v = get_field(obj, key);
  if (!v) return std::nullopt;
  int64_t n = 0;
  if (v->is_int64()) {
    if (v->get_int64().get(n)) return std::nullopt;
    return n;
  }
  if (v->is_uint64()) return std::nullopt; // too large
  double d = 0;
  if (v->is_double() && !v->get_double().get(d) && d >= -9e15 && d <= 9e15 &&
      static_cast<double>(static_cast<int64_t>(d)) == d)
    return static_cast<int64_t>(d);
  return std::nullopt;
}

bool is_object(simdjson::dom::element e) {
  return e.is_object();
}

bool is_array(simdjson::dom::element e) {
  return e.is_array();
}

} // namespace ls::mcsim::detail
