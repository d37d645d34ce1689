// ls_seed: benchmark setup. Writes one account and N subscribers straight into
// a fresh LMDB folder with ls::store::database, as the API would have stored
// them, and prints the account's API token on stdout (everything else goes to
// stderr).
//
//   ls_seed --data DIR --account-handle bench --count 1000000 [--map-size 4GiB]
//           [--email bench@example.org] [--password ...] [--batch 10000]
#include "http/codec/time.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <lmdb.h>
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
};

[[noreturn]] void usage(const char* why) {
  std::cerr << "ls_seed: " << why
            << "\nusage: ls_seed --data DIR [--account-handle H] [--count N] "
               "[--map-size BYTES|NMiB|NGiB] [--email E] [--password P] "
               "[--batch N]\n";
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
    else
      usage("unknown argument");
  }
  if (o.data.empty()) usage("--data is required");
  if (o.batch == 0) usage("--batch must be at least 1");
  return o;
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
    char email[64];
    uint64_t done = 0;
    while (done < opt.count) {
      auto t = ls::lmdb::txn::write(db.env());
      uint64_t end = std::min(opt.count, done + opt.batch);
      for (; done < end; ++done) {
        std::snprintf(email, sizeof email, "s%08llu@example.com",
                      static_cast<unsigned long long>(done));
        in.id = ls::crypto::random_id("sub_");
        in.email = email;
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
    db.env().sync();
    auto seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(db.env().handle(), &info);
    mdb_env_stat(db.env().handle(), &st);
    std::cerr << "ls_seed: account " << acc.id << " (@" << acc.handle << ", "
              << acc.email << ") with " << opt.count << " subscribers in "
              << seconds << " s; "
              << (info.me_last_pgno + 1) * uint64_t{st.ms_psize} / (1 << 20)
              << " MiB used of a " << (info.me_mapsize >> 20) << " MiB map\n";
    std::cout << token << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ls_seed: " << e.what() << "\n";
    return 1;
  }
}
