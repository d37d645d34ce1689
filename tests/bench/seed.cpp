// ls_seed: benchmark setup. Writes one account, N subscribers and M sync jobs
// straight into a fresh LMDB folder with ls::store::database, as the API would
// have stored them, and prints the account's API token on stdout (everything
// else goes to stderr).
//
//   ls_seed --data DIR --account-handle bench --count 1000000 [--map-size 4GiB]
//           [--email bench@example.org] [--password ...] [--batch 10000]
//           [--email-domain example.com] [--names] [--phone-only-every N]
//           [--unsubscribed-every N] [--jobs M] [--stats FILE]
//
// By default every subscriber is s<8 digits>@example.com, "Bench User", tag
// "bench" (the CSV export benchmark). For the Mailchimp sync benchmark:
// --email-domain gives an address Mailchimp (and the simulator) accepts
// (example.com "looks fake"), --names varied first and last names (some
// non-ASCII), --phone-only-every N makes every Nth subscriber phone-only (no
// email: never sent), --unsubscribed-every N every Nth (of the others)
// unsubscribed (never sent); --stats FILE writes the counts as key=value lines.
//
// --jobs M (the job list benchmark): M finished sync jobs, one minute apart and
// ending a minute ago, shaped like the ones the service writes: 70 % Mailchimp
// syncs (COMPLETED with progress, skip counts, example addresses and notes;
// every 25th FAILED with an error; every 20th CANCELLED), 30 % Kit / Klaviyo /
// HubSpot hand-offs (COMPLETED, every 7th still PENDING). No Mailchimp job is
// PENDING or RUNNING: the service would resume those at start-up. The stats
// file then also names the newest and the oldest job (newest_job=, oldest_job=)
// and counts them by status (jobs_<STATUS>=).
#include "http/codec/time.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <lmdb.h>
#include <map>
#include <string>
#include <string_view>

namespace {

struct options {
  std::string data;
  std::string handle = "bench";
  std::string email = "bench@example.org";
  std::string password = "bench-password";
  uint64_t count = 1000000;
  uint64_t map_size = uint64_t{4} << 30;
  uint64_t batch = 10000;
  std::string email_domain = "example.com";
  bool names = false;
  uint64_t phone_only_every = 0;
  uint64_t unsubscribed_every = 0;
  uint64_t jobs = 0;
  std::string stats;
};

[[noreturn]] void usage(const char* why) {
  std::cerr << "ls_seed: " << why
            << "\nusage: ls_seed --data DIR [--account-handle H] [--count N] "
               "[--map-size BYTES|NMiB|NGiB] [--email E] [--password P] "
               "[--batch N] [--email-domain D] [--names] "
               "[--phone-only-every N] [--unsubscribed-every N] [--jobs M] "
               "[--stats FILE]\n";
  std::exit(2);
}

uint64_t parse_size(std::string_view s) {
  uint64_t mult = 1;
  auto suffix = [&](std::string_view suf, uint64_t m) {
    if (s.size() > suf.size() && s.substr(s.size() - suf.size()) == suf) {
      s.remove_suffix(suf.size());
      mult = m;
      return true;
    }
    return false;
  };
  suffix("KiB", uint64_t{1} << 10) || suffix("MiB", uint64_t{1} << 20) ||
      suffix("GiB", uint64_t{1} << 30) || suffix("TiB", uint64_t{1} << 40);
  if (s.empty()) usage("bad number");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') usage("bad number");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v * mult;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "--data")
      o.data = next();
    else if (a == "--account-handle")
      o.handle = next();
    else if (a == "--email")
      o.email = next();
    else if (a == "--password")
      o.password = next();
    else if (a == "--count")
      o.count = parse_size(next());
    else if (a == "--map-size")
      o.map_size = parse_size(next());
    else if (a == "--batch")
      o.batch = parse_size(next());
    else if (a == "--email-domain")
      o.email_domain = next();
    else if (a == "--names")
      o.names = true;
    else if (a == "--phone-only-every")
      o.phone_only_every = parse_size(next());
    else if (a == "--unsubscribed-every")
      o.unsubscribed_every = parse_size(next());
    else if (a == "--jobs")
      o.jobs = parse_size(next());
    else if (a == "--stats")
      o.stats = next();
    else
      usage("unknown argument");
  }
  if (o.data.empty()) usage("--data is required");
  if (o.batch == 0) usage("--batch must be at least 1");
  if (o.email_domain.empty() || o.email_domain.size() > 40)
    usage("--email-domain must have 1 to 40 characters");
  return o;
}

// First and last names for --names: 16 x 16 pairs, a few with non-ASCII
// letters and an apostrophe (JSON and merge fields must carry them intact).
constexpr const char* first_names[] = {
    "Ada",  "Bruno", "Chloé", "Dmitri", "Emma",  "Fatima", "Goran", "Hana",
    "Ines", "Jonas", "Kai",   "Léa",    "Mateo", "Noor",   "Olga",  "Priya"};
constexpr const char* last_names[] = {
    "Andersen", "Becker",   "Costa",   "Dubois", "Eriksson", "Fischer",
    "García",   "Hansen",   "Ivanova", "Jensen", "Kowalski", "Lopez",
    "Müller",   "Nakamura", "O'Brien", "Petrov"};

/// Job number `i` of --jobs (0 is the oldest), created at `created_at`.
ls::store::sync_job make_job(const std::string& account_id, uint64_t i,
                             int64_t created_at) {
  constexpr int64_t second = 1000000;
  ls::store::sync_job j;
  j.id = ls::crypto::random_id("job_");
  j.account_id = account_id;
  j.created_at = created_at;
  j.started_at = created_at + second;
  j.attempt = 1;
  auto n = [&](const char* fmt, uint64_t v) {
    char buf[160];
    std::snprintf(buf, sizeof buf, fmt, static_cast<unsigned long long>(v));
    return std::string{buf};
  };
  auto examples = [&](const char* kind, uint64_t count) {
    ls::store::skip_count c;
    c.count = count;
    for (uint64_t k = 0; k < std::min<uint64_t>(count, 3); ++k)
      c.examples.push_back(std::string{kind} + std::to_string(i) + "." +
                           std::to_string(k) + "@gmail.com");
    return c;
  };
  static constexpr const char* handoffs[] = {"kit", "klaviyo", "hubspot"};
  if (i % 10 < 7) {
    j.provider = "mailchimp";
    j.audience_id = "a1b2c3d4e5";
    j.audience_name = "Bench fans";
    j.total = 1000 + (i * 7919) % 50000;
    j.phone_only = j.total / 1000;
    j.must_resubscribe = examples("resub", 2 + i % 9);
    j.invalid_email = examples("invalid", i % 4);
    j.skipped = j.phone_only + j.must_resubscribe.count + j.invalid_email.count;
    j.updated = (j.total - j.skipped) / 3;
    j.created = j.total - j.skipped - j.updated;
    j.processed = j.total;
    j.notes.push_back(
        n("%llu must re-subscribe in Mailchimp before they can receive emails",
          j.must_resubscribe.count) +
        " (e.g. " + j.must_resubscribe.examples[0] + ", " +
        j.must_resubscribe.examples[1] + ", …)");
    if (j.invalid_email.count > 0)
      j.notes.push_back(n("%llu were refused as invalid email addresses",
                          j.invalid_email.count) +
                        " (e.g. " + j.invalid_email.examples[0] + ", …)");
    if (j.phone_only > 0)
      j.notes.push_back(
          n("%llu have only a phone number and were skipped", j.phone_only));
    j.status = "COMPLETED";
    if (i % 25 == 3) {
      j.status = "FAILED";
      j.processed = j.total / 2;
      j.created = j.processed - j.skipped - j.updated / 2;
      j.updated /= 2;
      j.error_code = "token_revoked";
      j.error_message = "Mailchimp no longer accepts the connection's token: "
                        "connect Mailchimp again, then retry the job";
    } else if (i % 20 == 11) {
      j.status = "CANCELLED";
      j.processed = j.total / 3;
      j.created = j.processed - j.skipped;
      j.updated = 0;
      j.cancel_requested = true;
    }
    j.finished_at =
        j.started_at + static_cast<int64_t>(j.processed / 4000 + 1) * second;
  } else {
    j.provider = handoffs[i % 10 - 7];
    j.since_last_handoff = i % 3 == 0;
    j.total = 500 + (i * 104729) % 20000;
    j.processed = j.total;
    j.created = j.total;
    j.notes.push_back(n("%llu unsubscribed on LinkStacked are left out of the "
                        "file",
                        j.total / 50 + 1));
    j.status = "COMPLETED";
    j.finished_at = j.started_at + 60 * second;
    if (i % 7 == 0) {
      j.status = "PENDING";
      j.started_at = j.finished_at = 0;
    }
  }
  j.updated_at = j.finished_at ? j.finished_at : created_at;
  return j;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  try {
    ls::crypto::init();
    auto started = std::chrono::steady_clock::now();
    ls::store::database db{opt.data, opt.map_size};
    // Setup, not the measured part: no fsync per batch, one sync at the end.
    if (int rc = mdb_env_set_flags(db.env().handle(), MDB_NOSYNC, 1); rc != 0)
      throw ls::lmdb::error("env_set_flags", rc);

    ls::store::account acc;
    acc.id = ls::crypto::random_id("acc_");
    acc.email = opt.email;
    acc.handle = opt.handle;
    acc.password_hash = ls::crypto::hash_password(opt.password);
    acc.created_at = ls::timefmt::now_us();
    auto token = "lst_" + ls::crypto::random_token(32);
    {
      auto t = ls::lmdb::txn::write(db.env());
      auto r = db.insert_account(t, acc, ls::crypto::sha256(token));
      if (!r) {
        std::cerr << "ls_seed: account: " << r.field << ": " << r.message
                  << "\n";
        return 1;
      }
      t.commit();
    }

    // Subscribed one millisecond apart, ending now; ids random like the API's.
    int64_t first_at =
        acc.created_at - static_cast<int64_t>(opt.count) * 1000 - 1000;
    ls::store::subscriber in, stored;
    in.account_id = acc.id;
    in.name = "Bench User";
    in.tags = {"bench"};
    in.source = "api";
    in.opt_in.ip = "127.0.0.1";
    in.opt_in.user_agent = "ls_seed";
    char email[128];
    char phone[32];
    uint64_t done = 0, phone_only = 0, unsubscribed = 0;
    while (done < opt.count) {
      auto t = ls::lmdb::txn::write(db.env());
      uint64_t end = std::min(opt.count, done + opt.batch);
      for (; done < end; ++done) {
        std::snprintf(email, sizeof email, "s%08llu@%s",
                      static_cast<unsigned long long>(done),
                      opt.email_domain.c_str());
        in.id = ls::crypto::random_id("sub_");
        in.email = email;
        in.phone.clear();
        in.status = "subscribed";
        if (opt.phone_only_every && (done + 1) % opt.phone_only_every == 0) {
          // E.164, unique per subscriber: +1 415 then 7 digits.
          std::snprintf(phone, sizeof phone, "+1415%07llu",
                        static_cast<unsigned long long>(done % 10000000));
          in.email.clear();
          in.phone = phone;
          ++phone_only;
        } else if (opt.unsubscribed_every &&
                   (done + 1) % opt.unsubscribed_every == 0) {
          in.status = "unsubscribed";
          ++unsubscribed;
        }
        if (opt.names) {
          in.first_name = first_names[done % 16];
          in.last_name = last_names[(done / 16) % 16];
          in.name = in.first_name + " " + in.last_name;
        }
        in.subscribed_at = in.updated_at = in.opt_in.at =
            first_at + static_cast<int64_t>(done) * 1000;
        bool created = false;
        auto r = db.upsert_subscriber(t, in, stored, created);
        if (!r || !created) {
          std::cerr << "ls_seed: subscriber " << done << ": " << r.message
                    << "\n";
          return 1;
        }
      }
      t.commit();
    }
    // Jobs: one minute apart, the newest a minute ago.
    std::string newest_job, oldest_job;
    std::map<std::string, uint64_t> job_status;
    for (uint64_t i = 0; i < opt.jobs;) {
      auto t = ls::lmdb::txn::write(db.env());
      uint64_t end = std::min(opt.jobs, i + opt.batch);
      for (; i < end; ++i) {
        auto at =
            acc.created_at - static_cast<int64_t>(opt.jobs - i) * 60000000;
        auto j = make_job(acc.id, i, at);
        if (auto r = db.put_job(t, j); !r) {
          std::cerr << "ls_seed: job " << i << ": " << r.message << "\n";
          return 1;
        }
        ++job_status[j.status];
        if (i == 0) oldest_job = j.id;
        if (i + 1 == opt.jobs) newest_job = j.id;
      }
      t.commit();
    }
    db.env().sync();
    auto seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(db.env().handle(), &info);
    mdb_env_stat(db.env().handle(), &st);
    std::cerr << "ls_seed: account " << acc.id << " (@" << acc.handle << ", "
              << acc.email << ") with " << opt.count << " subscribers and "
              << opt.jobs << " jobs in " << seconds << " s; "
              << (info.me_last_pgno + 1) * uint64_t{st.ms_psize} / (1 << 20)
              << " MiB used of a " << (info.me_mapsize >> 20) << " MiB map\n";
    if (!opt.stats.empty()) {
      std::ofstream f{opt.stats};
      f << "total=" << opt.count << "\nphone_only=" << phone_only
        << "\nunsubscribed=" << unsubscribed
        << "\nsubscribed=" << opt.count - unsubscribed
        << "\neligible=" << opt.count - unsubscribed - phone_only
        << "\njobs=" << opt.jobs << "\n";
      if (opt.jobs > 0)
        f << "newest_job=" << newest_job << "\noldest_job=" << oldest_job
          << "\n";
      for (auto& [status, k] : job_status)
        f << "jobs_" << status << "=" << k << "\n";
      if (!f) {
        std::cerr << "ls_seed: cannot write " << opt.stats << "\n";
        return 1;
      }
    }
    std::cout << token << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ls_seed: " << e.what() << "\n";
    return 1;
  }
}
