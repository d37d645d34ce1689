#include "storage/records.hpp"

#include <cstring>

namespace ls::store {

namespace {

// Record kind tags; the low 4 bits carry the version, so a record read as the
// wrong kind fails.
constexpr uint8_t account_v1 = 0x11;
constexpr uint8_t session_v1 = 0x21;
constexpr uint8_t campaign_v1 = 0x31;
constexpr uint8_t subscriber_v1 = 0x41;
constexpr uint8_t subscriber_v2 = 0x42; ///< v1 + resubscribe_request
constexpr uint8_t oauth_state_v1 = 0x51;
constexpr uint8_t mailchimp_connection_v1 = 0x61;
constexpr uint8_t sync_job_v1 = 0x71;
constexpr uint8_t webhook_endpoint_v1 = 0x81;
constexpr uint8_t webhook_delivery_v1 = 0x91;

class writer {
public:
  explicit writer(uint8_t tag) { out_.push_back(static_cast<char>(tag)); }
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    u64(v.size());
    for (auto& s : v)
      str(s);
  }
  void boolean(bool b) { out_.push_back(b ? 1 : 0); }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  uint8_t tag() {
    if (in_.empty()) {
      ok_ = false;
      return 0;
    }
    auto t = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return t;
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) {
        ok_ = false;
        return 0;
      }
      auto b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  void str(std::string& s) {
    auto n = u64();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return;
    }
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
  }
  void strs(std::vector<std::string>& v) {
    auto n = u64();
    if (!ok_ || n > in_.size()) { // each string takes at least one byte
      ok_ = false;
      return;
    }
    v.resize(n);
    for (auto& s : v)
      str(s);
  }
  bool boolean() {
    if (in_.empty()) {
      ok_ = false;
      return false;
    }
    auto b = in_[0] != 0;
    in_.remove_prefix(1);
    return b;
  }
  size_t count() {
    auto n = u64();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  /// Trailing bytes are allowed: a newer minor writer may append fields.
  bool ok() const { return ok_; }

private:
  std::string_view in_;
  bool ok_ = true;
};

} // namespace

const std::string* subscriber::field(std::string_view key) const {
  for (auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

std::string encode(const account& x) {
  writer w{account_v1};
  w.str(x.id);
  w.str(x.email);
  w.str(x.handle);
  w.str(x.password_hash);
  w.i64(x.created_at);
  return w.take();
}

bool decode(std::string_view in, account& x) {
  reader r{in};
  if (r.tag() != account_v1) return false;
  r.str(x.id);
  r.str(x.email);
  r.str(x.handle);
  r.str(x.password_hash);
  x.created_at = r.i64();
  return r.ok();
}

std::string encode(const session& x) {
  writer w{session_v1};
  w.str(x.account_id);
  w.str(x.csrf_token);
  w.i64(x.created_at);
  w.i64(x.expires_at);
  return w.take();
}

bool decode(std::string_view in, session& x) {
  reader r{in};
  if (r.tag() != session_v1) return false;
  r.str(x.account_id);
  r.str(x.csrf_token);
  x.created_at = r.i64();
  x.expires_at = r.i64();
  return r.ok();
}

std::string encode(const campaign& x) {
  writer w{campaign_v1};
  w.str(x.id);
  w.str(x.account_id);
  w.str(x.name);
  w.str(x.slug);
  w.u64(x.fields.size());
  for (auto& f : x.fields) {
    w.str(f.key);
    w.str(f.label);
    w.str(f.type);
    w.boolean(f.required);
    w.strs(f.options);
  }
  w.strs(x.default_tags);
  w.i64(x.created_at);
  w.i64(x.updated_at);
  return w.take();
}

bool decode(std::string_view in, campaign& x) {
  reader r{in};
  if (r.tag() != campaign_v1) return false;
  r.str(x.id);
  r.str(x.account_id);
  r.str(x.name);
  r.str(x.slug);
  x.fields.resize(r.count());
  for (auto& f : x.fields) {
    r.str(f.key);
    r.str(f.label);
    r.str(f.type);
    f.required = r.boolean();
    r.strs(f.options);
  }
  r.strs(x.default_tags);
  x.created_at = r.i64();
  x.updated_at = r.i64();
  return r.ok();
}

std::string encode(const subscriber& x) {
  writer w{subscriber_v2};
  w.str(x.id);
  w.str(x.account_id);
  w.str(x.email);
  w.str(x.phone);
  w.str(x.name);
  w.str(x.first_name);
  w.str(x.last_name);
  w.u64(x.fields.size());
  for (auto& [k, v] : x.fields) {
    w.str(k);
    w.str(v);
  }
  w.strs(x.tags);
  w.str(x.source);
  w.str(x.campaign_id);
  w.strs(x.campaign_ids);
  w.str(x.status);
  w.i64(x.subscribed_at);
  w.i64(x.updated_at);
  w.i64(x.opt_in.at);
  w.str(x.opt_in.ip);
  w.str(x.opt_in.user_agent);
  w.str(x.opt_in.campaign_id);
  w.i64(x.resubscribe_request.at);
  w.str(x.resubscribe_request.ip);
  w.str(x.resubscribe_request.user_agent);
  w.str(x.resubscribe_request.campaign_id);
  return w.take();
}

bool decode(std::string_view in, subscriber& x) {
  reader r{in};
  auto version = r.tag();
  if (version != subscriber_v1 && version != subscriber_v2) return false;
  r.str(x.id);
  r.str(x.account_id);
  r.str(x.email);
  r.str(x.phone);
  r.str(x.name);
  r.str(x.first_name);
  r.str(x.last_name);
  x.fields.resize(r.count());
  for (auto& [k, v] : x.fields) {
    r.str(k);
    r.str(v);
  }
  r.strs(x.tags);
  r.str(x.source);
  r.str(x.campaign_id);
  r.strs(x.campaign_ids);
  r.str(x.status);
  x.subscribed_at = r.i64();
  x.updated_at = r.i64();
  x.opt_in.at = r.i64();
  r.str(x.opt_in.ip);
  r.str(x.opt_in.user_agent);
  r.str(x.opt_in.campaign_id);
  x.resubscribe_request = {};
  if (version == subscriber_v2) {
    x.resubscribe_request.at = r.i64();
    r.str(x.resubscribe_request.ip);
    r.str(x.resubscribe_request.user_agent);
    r.str(x.resubscribe_request.campaign_id);
  }
  return r.ok();
}

std::string encode(const oauth_state& x) {
  writer w{oauth_state_v1};
  w.str(x.account_id);
  w.str(x.session_hash);
  w.str(x.redirect_uri);
  w.i64(x.created_at);
  w.i64(x.expires_at);
  w.i64(x.consumed_at);
  return w.take();
}

bool decode(std::string_view in, oauth_state& x) {
  reader r{in};
  if (r.tag() != oauth_state_v1) return false;
  r.str(x.account_id);
  r.str(x.session_hash);
  r.str(x.redirect_uri);
  x.created_at = r.i64();
  x.expires_at = r.i64();
  x.consumed_at = r.i64();
  return r.ok();
}

std::string encode(const mailchimp_connection& x) {
  writer w{mailchimp_connection_v1};
  w.str(x.account_id);
  w.str(x.status);
  w.str(x.sealed_token);
  w.str(x.dc);
  w.str(x.api_endpoint);
  w.str(x.user_id);
  w.str(x.account_name);
  w.str(x.login_email);
  w.str(x.audience_id);
  w.str(x.audience_name);
  w.i64(x.connected_at);
  w.i64(x.updated_at);
  return w.take();
}

bool decode(std::string_view in, mailchimp_connection& x) {
  reader r{in};
  if (r.tag() != mailchimp_connection_v1) return false;
  r.str(x.account_id);
  r.str(x.status);
  r.str(x.sealed_token);
  r.str(x.dc);
  r.str(x.api_endpoint);
  r.str(x.user_id);
  r.str(x.account_name);
  r.str(x.login_email);
  r.str(x.audience_id);
  r.str(x.audience_name);
  x.connected_at = r.i64();
  x.updated_at = r.i64();
  return r.ok();
}

namespace {

void write_skip(writer& w, const skip_count& s) {
  w.u64(s.count);
  w.strs(s.examples);
}

void read_skip(reader& r, skip_count& s) {
  s.count = r.u64();
  r.strs(s.examples);
}

} // namespace

std::string encode(const sync_job& x) {
  writer w{sync_job_v1};
  w.str(x.id);
  w.str(x.account_id);
  w.str(x.provider);
  w.str(x.status);
  w.str(x.scope_type);
  w.str(x.scope_campaign_id);
  w.str(x.audience_id);
  w.str(x.audience_name);
  w.u64(x.attempt);
  w.i64(x.created_at);
  w.i64(x.started_at);
  w.i64(x.finished_at);
  w.i64(x.updated_at);
  w.u64(x.total);
  w.u64(x.processed);
  w.u64(x.created);
  w.u64(x.updated);
  w.u64(x.skipped);
  w.u64(x.phone_only);
  w.u64(x.unsubscribed);
  write_skip(w, x.must_resubscribe);
  write_skip(w, x.invalid_email);
  write_skip(w, x.forgotten);
  write_skip(w, x.other);
  w.strs(x.other_reasons);
  w.strs(x.notes);
  w.str(x.error_code);
  w.str(x.error_message);
  w.str(x.cursor);
  w.boolean(x.cancel_requested);
  w.boolean(x.since_last_handoff);
  w.i64(x.since_us);
  return w.take();
}

bool decode(std::string_view in, sync_job& x) {
  reader r{in};
  if (r.tag() != sync_job_v1) return false;
  r.str(x.id);
  r.str(x.account_id);
  r.str(x.provider);
  r.str(x.status);
  r.str(x.scope_type);
  r.str(x.scope_campaign_id);
  r.str(x.audience_id);
  r.str(x.audience_name);
  x.attempt = static_cast<uint32_t>(r.u64());
  x.created_at = r.i64();
  x.started_at = r.i64();
  x.finished_at = r.i64();
  x.updated_at = r.i64();
  x.total = r.u64();
  x.processed = r.u64();
  x.created = r.u64();
  x.updated = r.u64();
  x.skipped = r.u64();
  x.phone_only = r.u64();
  x.unsubscribed = r.u64();
  read_skip(r, x.must_resubscribe);
  read_skip(r, x.invalid_email);
  read_skip(r, x.forgotten);
  read_skip(r, x.other);
  r.strs(x.other_reasons);
  r.strs(x.notes);
  r.str(x.error_code);
  r.str(x.error_message);
  r.str(x.cursor);
  x.cancel_requested = r.boolean();
  x.since_last_handoff = r.boolean();
  x.since_us = r.i64();
  return r.ok();
}

std::string encode(const webhook_endpoint& x) {
  writer w{webhook_endpoint_v1};
  w.str(x.account_id);
  w.str(x.url);
  w.strs(x.events);
  w.str(x.sealed_secret);
  w.str(x.sealed_previous);
  w.i64(x.previous_until);
  w.str(x.status);
  w.str(x.disabled_reason);
  w.i64(x.failing_since);
  w.i64(x.created_at);
  w.i64(x.updated_at);
  return w.take();
}

bool decode(std::string_view in, webhook_endpoint& x) {
  reader r{in};
  if (r.tag() != webhook_endpoint_v1) return false;
  r.str(x.account_id);
  r.str(x.url);
  r.strs(x.events);
  r.str(x.sealed_secret);
  r.str(x.sealed_previous);
  x.previous_until = r.i64();
  r.str(x.status);
  r.str(x.disabled_reason);
  x.failing_since = r.i64();
  x.created_at = r.i64();
  x.updated_at = r.i64();
  return r.ok();
}

std::string encode(const webhook_delivery& x) {
  writer w{webhook_delivery_v1};
  w.str(x.id);
  w.str(x.account_id);
  w.str(x.message_id);
  w.str(x.type);
  w.str(x.subject);
  w.str(x.body);
  w.i64(x.created_at);
  w.str(x.status);
  w.i64(x.next_attempt_at);
  w.u64(x.attempts.size());
  for (auto& a : x.attempts) {
    w.i64(a.at);
    w.u64(a.status);
    w.str(a.error);
    w.i64(a.duration_us);
  }
  return w.take();
}

bool decode(std::string_view in, webhook_delivery& x) {
  reader r{in};
  if (r.tag() != webhook_delivery_v1) return false;
  r.str(x.id);
  r.str(x.account_id);
  r.str(x.message_id);
  r.str(x.type);
  r.str(x.subject);
  r.str(x.body);
  x.created_at = r.i64();
  r.str(x.status);
  x.next_attempt_at = r.i64();
  auto n = r.u64();
  if (n > 1000) return false; // corrupt: attempts are bounded by the schedule
  x.attempts.resize(n);
  for (auto& a : x.attempts) {
    a.at = r.i64();
    a.status = static_cast<unsigned>(r.u64());
    r.str(a.error);
    a.duration_us = r.i64();
  }
  return r.ok();
}

} // namespace ls::store
