#include "storage/database.hpp"

#include "storage/crypto.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <sys/mman.h>

namespace ls::store {

namespace {

/// A read transaction that also holds the resize lock shared.
struct reader {
  explicit reader(database& db)
      : lock(db.resize_lock()), txn(lmdb::txn::read(db.env())) {}
  std::shared_lock<std::shared_mutex> lock;
  lmdb::txn txn;
};

std::string be64(int64_t v) {
  auto u = static_cast<uint64_t>(v) ^
           (uint64_t{1} << 63); // negative times sort first
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xFF);
    u >>= 8;
  }
  return out;
}

std::string cat(std::string_view a, std::string_view b, std::string_view c = {},
                std::string_view d = {}) {
  std::string k;
  k.reserve(a.size() + b.size() + c.size() + d.size());
  k.append(a).append(b).append(c).append(d);
  return k;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle_lower) {
  if (needle_lower.empty()) return true;
  if (hay.size() < needle_lower.size()) return false;
  return lower(hay).find(needle_lower) != std::string::npos;
}

struct lambda_op : write_op {
  explicit lambda_op(std::function<outcome(database&, lmdb::txn&)> f)
      : fn(std::move(f)) {}
  outcome apply(database& db, lmdb::txn& t) override { return fn(db, t); }
  std::function<outcome(database&, lmdb::txn&)> fn;
};

void merge_sorted_unique(std::vector<std::string>& into,
                         const std::vector<std::string>& add) {
  into.insert(into.end(), add.begin(), add.end());
  std::sort(into.begin(), into.end());
  into.erase(std::unique(into.begin(), into.end()), into.end());
}

/// One page of the records under `prefix`, newest (largest key) first, resuming
/// before `cursor` (a key returned earlier, without the prefix). `keep` decodes
/// a value into an item and says whether it matches. At most `max_scan` keys
/// are looked at, so a page may be short and still have a next cursor. nullopt
/// for a cursor that cannot be one of ours.
template <class Item, class Keep>
std::optional<std::pair<std::vector<Item>, std::string>>
newest_first(lmdb::txn& t, lmdb::dbi db, std::string_view prefix,
             std::string_view cursor, size_t limit, size_t max_scan,
             Keep keep) {
  // A cursor is a big-endian time and an id ("sub_…", "job_…": a 4-character
  // prefix).
  constexpr size_t cursor_size = 8 + 4 + crypto::id_random_chars;
  if (!cursor.empty() && cursor.size() != cursor_size) return std::nullopt;
  std::vector<Item> items;
  std::string next;
  lmdb::cursor cur{t, db};
  // Start after the account's last key (or before the cursor's) and walk back.
  bool ok = cur.seek(cursor.empty() ? cat(prefix, std::string(1, '\xff'))
                                    : cat(prefix, cursor));
  ok = ok ? cur.prev() : cur.last();
  size_t scanned = 0;
  std::string last_key;
  for (; ok && starts_with(cur.key(), prefix); ok = cur.prev()) {
    last_key = cur.key();
    Item item;
    if (keep(cur.value(), item)) {
      items.push_back(std::move(item));
      if (items.size() == limit) break;
    }
    if (++scanned >= max_scan) break;
  }
  // Stopped early: is there anything older?
  if (ok && starts_with(cur.key(), prefix) && cur.prev() &&
      starts_with(cur.key(), prefix))
    next = last_key.substr(prefix.size());
  return std::pair{std::move(items), std::move(next)};
}

} // namespace

write_op_ptr make_op(std::function<outcome(database&, lmdb::txn&)> fn) {
  return std::make_shared<lambda_op>(std::move(fn));
}

bool subscriber_filter::matches(const subscriber& s) const {
  if (!campaign_id.empty() &&
      std::find(s.campaign_ids.begin(), s.campaign_ids.end(), campaign_id) ==
          s.campaign_ids.end())
    return false;
  if (!tags.empty()) {
    bool any = false;
    for (auto& t : tags)
      if (std::binary_search(s.tags.begin(), s.tags.end(), t)) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  if (!q.empty()) {
    auto needle = lower(q);
    if (!contains_ci(s.email, needle) && !contains_ci(s.phone, needle) &&
        !contains_ci(s.name, needle) && !contains_ci(s.first_name, needle) &&
        !contains_ci(s.last_name, needle))
      return false;
  }
  return true;
}

database::database(const std::string& path, uint64_t map_size)
    : env_(path, map_size, 32) {
  open_schema();
}

void database::open_schema() {
  auto t = lmdb::txn::write(env_);
  meta_ = t.open("meta");
  accounts_ = t.open("accounts");
  account_by_email_ = t.open("account_by_email");
  account_by_handle_ = t.open("account_by_handle");
  api_tokens_ = t.open("api_tokens");
  sessions_ = t.open("sessions");
  campaigns_ = t.open("campaigns");
  subscribers_ = t.open("subscribers");
  subscriber_keys_ = t.open("subscriber_keys");
  contacts_ = t.open("contacts");
  oauth_states_ = t.open("oauth_states");
  mailchimp_connections_ = t.open("mailchimp_connections");
  jobs_ = t.open("jobs");
  job_keys_ = t.open("job_keys");
  webhooks_ = t.open("webhooks");
  deliveries_ = t.open("deliveries");
  delivery_keys_ = t.open("delivery_keys");
  deliveries_pending_ = t.open("deliveries_pending");
  unsigned found = 0;
  if (auto v = t.get(meta_, "schema_version"))
    found = static_cast<unsigned>(std::stoul(std::string{*v}));
  if (found > schema_version)
    throw std::runtime_error("the data in this folder was written by a newer "
                             "version (schema " +
                             std::to_string(found) + ", this build knows " +
                             std::to_string(schema_version) + ")");
  // Migration hook: each step upgrades the data from version v to v + 1 in this
  // transaction.
  for (unsigned v = found; v < schema_version; ++v) {
    switch (v) {
    case 0: // a new environment: nothing to convert
      break;
    }
  }
  t.put(meta_, "schema_version", std::to_string(schema_version));
  t.commit();
}

uint64_t database::grow_map() {
  std::unique_lock lock{resize_lock_};
  auto next = env_.map_size() * 2;
  env_.set_map_size(next);
  return next;
}

void database::release_mapped_pages() {
  // LMDB does not tell where it mapped the file; /proc/self/maps does.
  const char* dir = nullptr;
  if (mdb_env_get_path(env_.handle(), &dir) != 0 || !dir) return;
  std::error_code ec;
  auto canonical = std::filesystem::canonical(dir, ec);
  if (ec) return;
  std::string file = (canonical / "data.mdb").string();
  std::ifstream maps{"/proc/self/maps"};
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() < file.size() ||
        line.compare(line.size() - file.size(), file.size(), file) != 0)
      continue;
    uintptr_t from = 0, to = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &from, &to) != 2 || to <= from)
      continue;
    // The map is read-only (no MDB_WRITEMAP), so this never loses data: a later
    // read faults the page back in from the page cache.
    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
  }
}

bool database::healthy() {
  try {
    reader r{*this};
    r.txn.get(meta_, "schema_version");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// -- accounts
// --------------------------------------------------------------------------------

std::optional<account> database::account_by_id(std::string_view id) {
  reader r{*this};
  auto v = r.txn.get(accounts_, id);
  account a;
  if (!v || !decode(*v, a)) return std::nullopt;
  return a;
}

std::optional<account> database::account_by_email(std::string_view email) {
  std::string id;
  {
    reader r{*this};
    auto v = r.txn.get(account_by_email_, email);
    if (!v) return std::nullopt;
    id = *v;
  }
  return account_by_id(id);
}

std::optional<account> database::account_by_handle(std::string_view handle) {
  std::string id;
  {
    reader r{*this};
    auto v = r.txn.get(account_by_handle_, handle);
    if (!v) return std::nullopt;
    id = *v;
  }
  return account_by_id(id);
}

std::optional<account>
database::account_by_token_hash(std::string_view token_hash) {
  std::string id;
  {
    reader r{*this};
    auto v = r.txn.get(api_tokens_, token_hash);
    if (!v) return std::nullopt;
    id = *v;
  }
  return account_by_id(id);
}

std::optional<session> database::session_by_hash(std::string_view token_hash) {
  reader r{*this};
  auto v = r.txn.get(sessions_, token_hash);
  session s;
  if (!v || !decode(*v, s)) return std::nullopt;
  return s;
}

outcome database::insert_account(lmdb::txn& t, const account& a,
                                 std::string_view api_token_hash) {
  if (!t.put_if_absent(account_by_email_, a.email, a.id))
    return outcome::fail(outcome::conflict,
                         "an account with this email already exists", "email");
  if (!t.put_if_absent(account_by_handle_, a.handle, a.id))
    return outcome::fail(outcome::conflict, "this handle is taken", "handle");
  t.put(accounts_, a.id, encode(a));
  // The account record does not hold the token hash: the index is the only
  // copy.
  t.put(api_tokens_, api_token_hash, a.id);
  t.put(meta_, cat("token_of/", a.id), api_token_hash);
  return {};
}

outcome database::set_api_token(lmdb::txn& t, std::string_view account_id,
                                std::string_view new_hash) {
  auto key = cat("token_of/", account_id);
  if (auto old = t.get(meta_, key)) t.del(api_tokens_, std::string{*old});
  t.put(api_tokens_, new_hash, account_id);
  t.put(meta_, key, new_hash);
  return {};
}

outcome database::put_session(lmdb::txn& t, std::string_view token_hash,
                              const session& s) {
  t.put(sessions_, token_hash, encode(s));
  return {};
}

outcome database::delete_session(lmdb::txn& t, std::string_view token_hash) {
  t.del(sessions_, token_hash);
  return {};
}

// -- campaigns
// -------------------------------------------------------------------------------

std::optional<campaign> database::campaign_by_id(std::string_view account_id,
                                                 std::string_view id) {
  reader r{*this};
  auto v = r.txn.get(campaigns_, cat(account_id, id));
  campaign c;
  if (!v || !decode(*v, c)) return std::nullopt;
  return c;
}

std::vector<campaign> database::campaigns(std::string_view account_id) {
  std::vector<campaign> out;
  {
    reader r{*this};
    lmdb::cursor cur{r.txn, campaigns_};
    for (bool ok = cur.seek(account_id);
         ok && starts_with(cur.key(), account_id); ok = cur.next()) {
      campaign c;
      if (decode(cur.value(), c)) out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

std::optional<campaign> database::campaign_by_slug(std::string_view account_id,
                                                   std::string_view slug) {
  for (auto& c : campaigns(account_id))
    if (c.slug == slug) return c;
  return std::nullopt;
}

outcome database::put_campaign(lmdb::txn& t, const campaign& c) {
  lmdb::cursor cur{t, campaigns_};
  for (bool ok = cur.seek(c.account_id);
       ok && starts_with(cur.key(), c.account_id); ok = cur.next()) {
    campaign other;
    if (decode(cur.value(), other) && other.id != c.id && other.slug == c.slug)
      return outcome::fail(outcome::conflict,
                           "another campaign already uses this slug", "slug");
  }
  t.put(campaigns_, cat(c.account_id, c.id), encode(c));
  return {};
}

outcome database::replace_campaign(lmdb::txn& t, const campaign& c) {
  if (!t.get(campaigns_, cat(c.account_id, c.id)))
    return outcome::fail(outcome::not_found, "no such campaign");
  return put_campaign(t, c);
}

outcome database::delete_campaign(lmdb::txn& t, std::string_view account_id,
                                  std::string_view id) {
  if (!t.del(campaigns_, cat(account_id, id)))
    return outcome::fail(outcome::not_found, "no such campaign");
  return {};
}

// -- subscribers
// -----------------------------------------------------------------------------

std::optional<subscriber> database::read_subscriber(lmdb::txn& t,
                                                    std::string_view acc,
                                                    std::string_view id) {
  auto ts = t.get(subscriber_keys_, cat(acc, id));
  if (!ts) return std::nullopt;
  auto v = t.get(subscribers_, cat(acc, *ts, id));
  subscriber s;
  if (!v || !decode(*v, s)) return std::nullopt;
  return s;
}

std::optional<subscriber>
database::subscriber_by_id(std::string_view account_id, std::string_view id) {
  reader r{*this};
  return read_subscriber(r.txn, account_id, id);
}

void database::write_subscriber(lmdb::txn& t, const subscriber& s) {
  auto ts = be64(s.subscribed_at);
  t.put(subscriber_keys_, cat(s.account_id, s.id), ts);
  t.put(subscribers_, cat(s.account_id, ts, s.id), encode(s));
}

static std::string contact_key(const subscriber& s) {
  return s.email.empty() ? cat(s.account_id, "p", s.phone)
                         : cat(s.account_id, "e", s.email);
}

void database::remove_contact_keys(lmdb::txn& t, const subscriber& s) {
  if (!s.email.empty()) t.del(contacts_, cat(s.account_id, "e", s.email));
  if (!s.phone.empty()) {
    auto k = cat(s.account_id, "p", s.phone);
    if (auto owner = t.get(contacts_, k); owner && *owner == s.id)
      t.del(contacts_, k);
  }
}

outcome database::add_contact_key(lmdb::txn& t, const subscriber& s) {
  auto key = contact_key(s);
  if (auto owner = t.get(contacts_, key); owner && *owner != s.id)
    return outcome::fail(outcome::conflict,
                         s.email.empty()
                             ? "another subscriber has this phone number"
                             : "another subscriber has this email address",
                         s.email.empty() ? "phone" : "email");
  t.put(contacts_, key, s.id);
  return {};
}

namespace {

/// subscriber_limits, checked on the record about to be stored.
outcome check_limits(const subscriber& s) {
  if (s.tags.size() > subscriber_limits::max_tags)
    return outcome::fail(outcome::invalid,
                         "a subscriber has at most " +
                             std::to_string(subscriber_limits::max_tags) +
                             " tags",
                         "tags");
  if (s.fields.size() > subscriber_limits::max_fields)
    return outcome::fail(outcome::invalid,
                         "a subscriber has at most " +
                             std::to_string(subscriber_limits::max_fields) +
                             " custom fields",
                         "fields");
  if (encode(s).size() > subscriber_limits::max_bytes)
    return outcome::fail(
        outcome::invalid,
        "a subscriber's data is at most " +
            std::to_string(subscriber_limits::max_bytes / 1024) + " KiB",
        "fields");
  return {};
}

} // namespace

std::string database::deleted_key(const subscriber& s) const {
  // A hash, not the address: deleting someone keeps only what stops a
  // stranger from re-subscribing them.
  return cat(s.account_id, "x",
             crypto::sha256(s.email.empty() ? "p:" + s.phone : "e:" + s.email));
}

outcome database::upsert_subscriber(lmdb::txn& t, const subscriber& in,
                                    subscriber& stored, bool& created) {
  std::optional<subscriber> existing;
  // The email decides who this is; the phone only when there is no email (so
  // a stranger cannot attach an email to someone's phone-only record).
  auto key = contact_key(in);
  if (auto id = t.get(contacts_, key))
    existing = read_subscriber(t, in.account_id, std::string{*id});
  if (!existing) {
    stored = in;
    created = true;
    stored.resubscribe_request = {};
    if (t.get(contacts_, deleted_key(in))) {
      // Deleted before: back only as a request the person must confirm.
      stored.status = "unsubscribed";
      stored.resubscribe_request = in.opt_in;
      stored.opt_in = {};
    }
    if (auto r = check_limits(stored); !r) return r;
    write_subscriber(t, stored);
    return add_contact_key(t, stored);
  }
  created = false;
  stored = std::move(*existing);
  for (auto& [k, v] : in.fields) {
    auto it =
        std::lower_bound(stored.fields.begin(), stored.fields.end(), k,
                         [](auto& p, auto& key) { return p.first < key; });
    if (it == stored.fields.end() || it->first != k)
      stored.fields.insert(it, {k, v});
    else if (it->second.empty())
      it->second = v;
  }
  merge_sorted_unique(stored.tags, in.tags);
  if (!in.campaign_id.empty() &&
      std::find(stored.campaign_ids.begin(), stored.campaign_ids.end(),
                in.campaign_id) == stored.campaign_ids.end())
    stored.campaign_ids.push_back(in.campaign_id);
  if (stored.campaign_id.empty()) stored.campaign_id = in.campaign_id;
  if (stored.status != "subscribed") stored.resubscribe_request = in.opt_in;
  stored.updated_at = in.updated_at;
  if (auto r = check_limits(stored); !r) return r;
  write_subscriber(t, stored);
  return {};
}

outcome database::modify_subscriber(
    lmdb::txn& t, std::string_view account_id, std::string_view id,
    const std::function<outcome(subscriber&)>& change, subscriber& result) {
  auto old = read_subscriber(t, account_id, id);
  if (!old) return outcome::fail(outcome::not_found, "no such subscriber");
  result = *old;
  if (auto r = change(result); !r) return r;
  result.id = old->id; // identity and key parts never change
  result.account_id = old->account_id;
  result.subscribed_at = old->subscribed_at;
  if (auto r = check_limits(result); !r) return r;
  if (result.email.empty() && result.phone.empty())
    return outcome::fail(outcome::invalid,
                         "a subscriber needs an email or a phone number",
                         "email");
  if (contact_key(*old) != contact_key(result)) {
    remove_contact_keys(t, *old);
    if (auto r = add_contact_key(t, result); !r) return r;
  }
  write_subscriber(t, result);
  return {};
}

outcome database::delete_subscriber(lmdb::txn& t, std::string_view account_id,
                                    std::string_view id) {
  auto old = read_subscriber(t, account_id, id);
  if (!old) return outcome::fail(outcome::not_found, "no such subscriber");
  remove_contact_keys(t, *old);
  t.put(contacts_, deleted_key(*old), "");
  auto ts = be64(old->subscribed_at);
  t.del(subscribers_, cat(account_id, ts, id));
  t.del(subscriber_keys_, cat(account_id, id));
  return {};
}

std::optional<subscriber_page>
database::subscribers(std::string_view account_id,
                      const subscriber_filter& filter, std::string_view cursor,
                      size_t limit, size_t max_scan) {
  reader r{*this};
  auto found = newest_first<subscriber>(
      r.txn, subscribers_, account_id, cursor, limit, max_scan,
      [&](std::string_view v, subscriber& s) {
        return decode(v, s) && filter.matches(s);
      });
  if (!found) return std::nullopt;
  return subscriber_page{std::move(found->first), std::move(found->second)};
}

std::string
database::export_page(std::string_view account_id,
                      const subscriber_filter& filter, std::string_view after,
                      size_t limit,
                      const std::function<void(const subscriber&)>& row) {
  reader r{*this};
  lmdb::cursor cur{r.txn, subscribers_};
  bool ok;
  if (after.empty()) {
    ok = cur.seek(account_id);
  } else {
    ok = cur.seek(after);
    if (ok && cur.key() == after) ok = cur.next();
  }
  size_t emitted = 0;
  for (; ok && starts_with(cur.key(), account_id); ok = cur.next()) {
    subscriber s;
    if (decode(cur.value(), s) && filter.matches(s)) {
      row(s);
      if (++emitted == limit) return std::string{cur.key()};
    }
  }
  return {};
}

size_t database::subscriber_count(std::string_view account_id) {
  reader r{*this};
  lmdb::cursor cur{r.txn, subscriber_keys_};
  size_t n = 0;
  for (bool ok = cur.seek(account_id); ok && starts_with(cur.key(), account_id);
       ok = cur.next())
    ++n;
  return n;
}

bool database::signup_times(std::string_view account_id,
                            const subscriber_filter& filter, int64_t since_us,
                            size_t max_scan,
                            const std::function<void(int64_t)>& each) {
  bool everyone =
      filter.campaign_id.empty() && filter.tags.empty() && filter.q.empty();
  reader r{*this};
  lmdb::cursor cur{r.txn, subscribers_};
  // Keys are account, big-endian time, id: walk back from the newest.
  bool ok = cur.seek(cat(account_id, std::string(1, '\xff')));
  ok = ok ? cur.prev() : cur.last();
  size_t scanned = 0;
  for (; ok && starts_with(cur.key(), account_id); ok = cur.prev()) {
    if (scanned++ == max_scan) return false;
    auto key = cur.key();
    if (key.size() < account_id.size() + 8) continue;
    uint64_t u = 0;
    for (size_t i = 0; i < 8; ++i)
      u = (u << 8) | static_cast<unsigned char>(key[account_id.size() + i]);
    auto at = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
    if (at < since_us) break;
    if (!everyone) {
      subscriber s;
      if (!decode(cur.value(), s) || !filter.matches(s)) continue;
    }
    each(at);
  }
  return true;
}

// -- Mailchimp
// ---------------------------------------------------------------------------------

std::optional<oauth_state>
database::oauth_state_by_hash(std::string_view state_hash) {
  reader r{*this};
  auto v = r.txn.get(oauth_states_, state_hash);
  oauth_state s;
  if (!v || !decode(*v, s)) return std::nullopt;
  return s;
}

namespace {

/// The expiry index of OAuth states, in the same table: its keys are longer
/// than a state's (a 32-byte hash) and sort after them.
constexpr std::string_view oauth_expiry_prefix = "\xff"
                                                 "expires/";

std::string oauth_expiry_key(int64_t expires_at, std::string_view state_hash) {
  return cat(oauth_expiry_prefix, be64(expires_at), state_hash);
}

} // namespace

outcome database::put_oauth_state(lmdb::txn& t, std::string_view state_hash,
                                  const oauth_state& s) {
  t.put(oauth_states_, state_hash, encode(s));
  t.put(oauth_states_, oauth_expiry_key(s.expires_at, state_hash), "");
  return {};
}

outcome database::consume_oauth_state(
    lmdb::txn& t, std::string_view state_hash, int64_t now, oauth_state& found,
    const std::function<bool(const oauth_state&)>& is_owner) {
  auto v = t.get(oauth_states_, state_hash);
  if (!v || !decode(*v, found))
    return outcome::fail(outcome::not_found, "unknown state");
  if (found.consumed_at != 0)
    return outcome::fail(outcome::conflict, "state already used");
  // Another session's callback must not use up the real user's state.
  if (!is_owner(found))
    return outcome::fail(outcome::invalid, "not this session's state");
  found.consumed_at = now;
  t.put(oauth_states_, state_hash, encode(found));
  return {};
}

void database::purge_oauth_states(lmdb::txn& t, int64_t now, size_t max) {
  constexpr int64_t day_us = int64_t{24} * 3600 * 1000000;
  auto limit = oauth_expiry_key(now - day_us, "");
  std::vector<std::string> stale;
  {
    lmdb::cursor cur{t, oauth_states_};
    for (bool ok = cur.seek(std::string{oauth_expiry_prefix});
         ok && stale.size() < max; ok = cur.next()) {
      auto k = cur.key();
      if (!starts_with(k, oauth_expiry_prefix) || k >= limit) break;
      stale.emplace_back(k);
    }
  }
  auto hash_at = oauth_expiry_prefix.size() + 8;
  for (auto& k : stale) {
    t.del(oauth_states_, std::string_view{k}.substr(hash_at));
    t.del(oauth_states_, k);
  }
}

std::optional<mailchimp_connection>
database::mailchimp_connection_of(std::string_view account_id) {
  reader r{*this};
  auto v = r.txn.get(mailchimp_connections_, account_id);
  mailchimp_connection c;
  if (!v || !decode(*v, c)) return std::nullopt;
  return c;
}

std::vector<mailchimp_connection> database::mailchimp_connections() {
  std::vector<mailchimp_connection> out;
  reader r{*this};
  lmdb::cursor cur{r.txn, mailchimp_connections_};
  for (bool ok = cur.first(); ok; ok = cur.next()) {
    mailchimp_connection c;
    if (decode(cur.value(), c)) out.push_back(std::move(c));
  }
  return out;
}

outcome database::put_mailchimp_connection(lmdb::txn& t,
                                           const mailchimp_connection& c) {
  t.put(mailchimp_connections_, c.account_id, encode(c));
  return {};
}

outcome database::modify_mailchimp_connection(
    lmdb::txn& t, std::string_view account_id,
    const std::function<void(mailchimp_connection&)>& change) {
  auto v = t.get(mailchimp_connections_, account_id);
  mailchimp_connection c;
  if (!v || !decode(*v, c))
    return outcome::fail(outcome::not_found, "Mailchimp is not connected");
  change(c);
  t.put(mailchimp_connections_, account_id, encode(c));
  return {};
}

outcome database::delete_mailchimp_connection(lmdb::txn& t,
                                              std::string_view account_id) {
  if (auto v = t.get(mailchimp_connections_, account_id)) {
    // Overwrite before deleting, so the page that held the sealed token is
    // rewritten rather than only unlinked.
    std::string zeros(v->size(), '\0');
    t.put(mailchimp_connections_, account_id, zeros);
    t.del(mailchimp_connections_, account_id);
    return {};
  }
  return outcome::fail(outcome::not_found, "Mailchimp is not connected");
}

// -- jobs
// ----------------------------------------------------------------------------------------

std::optional<sync_job> database::job_by_id(std::string_view account_id,
                                            std::string_view id) {
  reader r{*this};
  auto ts = r.txn.get(job_keys_, cat(account_id, id));
  if (!ts) return std::nullopt;
  auto v = r.txn.get(jobs_, cat(account_id, *ts, id));
  sync_job j;
  if (!v || !decode(*v, j)) return std::nullopt;
  return j;
}

std::optional<database::job_page>
database::jobs(std::string_view account_id, std::string_view status,
               std::string_view provider, std::string_view cursor, size_t limit,
               size_t max_scan) {
  reader r{*this};
  auto found = newest_first<sync_job>(
      r.txn, jobs_, account_id, cursor, limit, max_scan,
      [&](std::string_view v, sync_job& j) {
        return decode(v, j) && (status.empty() || j.status == status) &&
               (provider.empty() || j.provider == provider);
      });
  if (!found) return std::nullopt;
  return job_page{std::move(found->first), std::move(found->second)};
}

std::vector<sync_job> database::unfinished_jobs() {
  std::vector<sync_job> out;
  reader r{*this};
  lmdb::cursor cur{r.txn, jobs_};
  for (bool ok = cur.first(); ok; ok = cur.next()) {
    sync_job j;
    if (decode(cur.value(), j) &&
        (j.status == "PENDING" || j.status == "RUNNING"))
      out.push_back(std::move(j));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

outcome database::put_job(lmdb::txn& t, const sync_job& j) {
  auto ts = be64(j.created_at);
  t.put(job_keys_, cat(j.account_id, j.id), ts);
  t.put(jobs_, cat(j.account_id, ts, j.id), encode(j));
  return {};
}

outcome database::modify_job(lmdb::txn& t, std::string_view account_id,
                             std::string_view id,
                             const std::function<outcome(sync_job&)>& change,
                             sync_job& result) {
  auto ts = t.get(job_keys_, cat(account_id, id));
  if (!ts) return outcome::fail(outcome::not_found, "no such job");
  std::string key = cat(account_id, *ts, id);
  auto v = t.get(jobs_, key);
  if (!v || !decode(*v, result))
    return outcome::fail(outcome::not_found, "no such job");
  if (auto r = change(result); !r) return r;
  t.put(jobs_, key, encode(result));
  return {};
}

// -- webhooks
// -------------------------------------------------------------------------------------

std::optional<webhook_endpoint>
database::webhook_of(std::string_view account_id) {
  reader r{*this};
  auto v = r.txn.get(webhooks_, account_id);
  webhook_endpoint w;
  if (!v || !decode(*v, w)) return std::nullopt;
  return w;
}

std::optional<webhook_delivery>
database::delivery_by_id(std::string_view account_id, std::string_view id) {
  reader r{*this};
  auto ts = r.txn.get(delivery_keys_, cat(account_id, id));
  if (!ts) return std::nullopt;
  auto v = r.txn.get(deliveries_, cat(account_id, *ts, id));
  webhook_delivery d;
  if (!v || !decode(*v, d)) return std::nullopt;
  return d;
}

std::optional<database::delivery_page>
database::deliveries(std::string_view account_id, std::string_view status,
                     std::string_view cursor, size_t limit, size_t max_scan) {
  reader r{*this};
  auto found = newest_first<webhook_delivery>(
      r.txn, deliveries_, account_id, cursor, limit, max_scan,
      [&](std::string_view v, webhook_delivery& d) {
        return decode(v, d) && (status.empty() || d.status == status);
      });
  if (!found) return std::nullopt;
  return delivery_page{std::move(found->first), std::move(found->second)};
}

std::vector<std::string> database::pending_accounts() {
  // Keys are account, big-endian creation time, id; account ids have one
  // length ("acc_" and the random part).
  constexpr size_t account_size = 4 + crypto::id_random_chars;
  std::vector<std::string> out;
  reader r{*this};
  lmdb::cursor cur{r.txn, deliveries_pending_};
  for (bool ok = cur.first(); ok && cur.key().size() > account_size;
       ok = cur.seek(cat(out.back(), std::string(1, '\xff'))))
    out.emplace_back(cur.key().substr(0, account_size));
  return out;
}

void database::visit_pending(
    std::string_view account_id,
    const std::function<bool(webhook_delivery&)>& visit, size_t max_scan) {
  reader r{*this};
  lmdb::cursor cur{r.txn, deliveries_pending_};
  size_t scanned = 0;
  // Keys are account, big-endian creation time, id: oldest first.
  for (bool ok = cur.seek(account_id);
       ok && starts_with(cur.key(), account_id) && scanned++ < max_scan;
       ok = cur.next()) {
    auto v = r.txn.get(deliveries_, cur.key());
    webhook_delivery d;
    if (v && decode(*v, d) && !visit(d)) return;
  }
}

bool database::webhook_wants(lmdb::txn& t, std::string_view account_id,
                             std::string_view type) {
  auto v = t.get(webhooks_, account_id);
  webhook_endpoint w;
  if (!v || !decode(*v, w) || w.status != "active") return false;
  return std::find(w.events.begin(), w.events.end(), type) != w.events.end();
}

outcome database::put_webhook(lmdb::txn& t, const webhook_endpoint& w) {
  t.put(webhooks_, w.account_id, encode(w));
  return {};
}

outcome database::delete_webhook(lmdb::txn& t, std::string_view account_id) {
  if (!t.get(webhooks_, account_id))
    return outcome::fail(outcome::not_found, "no webhook is set");
  t.del(webhooks_, account_id);
  // What was still waiting goes nowhere now.
  std::vector<std::string> keys;
  {
    lmdb::cursor cur{t, deliveries_pending_};
    for (bool ok = cur.seek(account_id);
         ok && starts_with(cur.key(), account_id); ok = cur.next())
      keys.emplace_back(cur.key());
  }
  for (auto& k : keys) {
    t.del(deliveries_pending_, k);
    webhook_delivery d;
    if (auto v = t.get(deliveries_, k); v && decode(*v, d)) {
      d.status = "failed";
      d.attempts.push_back(
          {d.next_attempt_at, 0, "the webhook was removed", 0});
      t.put(deliveries_, k, encode(d));
    }
  }
  return {};
}

outcome
database::modify_webhook(lmdb::txn& t, std::string_view account_id,
                         const std::function<void(webhook_endpoint&)>& change) {
  auto v = t.get(webhooks_, account_id);
  webhook_endpoint w;
  if (!v || !decode(*v, w))
    return outcome::fail(outcome::not_found, "no webhook is set");
  change(w);
  t.put(webhooks_, account_id, encode(w));
  return {};
}

outcome database::replay_failed(lmdb::txn& t, std::string_view account_id,
                                int64_t since_us, int64_t now_us,
                                size_t& count) {
  count = 0;
  std::vector<webhook_delivery> again;
  {
    lmdb::cursor cur{t, deliveries_};
    for (bool ok = cur.seek(cat(account_id, be64(since_us)));
         ok && starts_with(cur.key(), account_id); ok = cur.next()) {
      webhook_delivery d;
      if (decode(cur.value(), d) && d.status == "failed")
        again.push_back(std::move(d));
    }
  }
  for (auto& d : again) {
    d.status = "pending";
    d.next_attempt_at = now_us;
    put_delivery(t, d);
  }
  count = again.size();
  return {};
}

outcome database::put_delivery(lmdb::txn& t, const webhook_delivery& d) {
  auto ts = be64(d.created_at);
  auto key = cat(d.account_id, ts, d.id);
  t.put(delivery_keys_, cat(d.account_id, d.id), ts);
  t.put(deliveries_, key, encode(d));
  if (d.status == "pending")
    t.put(deliveries_pending_, key, "");
  else if (t.get(deliveries_pending_, key))
    t.del(deliveries_pending_, key);
  return {};
}

} // namespace ls::store
