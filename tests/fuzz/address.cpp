// The address check of the webhook SSRF guard (http/client/target_guard.hpp:
// forbidden_address). The first byte picks a mode: text as given, or 4 or 16
// bytes made into an address.
// Properties: any spelling inet_pton reads gets the verdict of its canonical
// form, anything else is "not an IP address"; an IPv4 address and its IPv6
// embeddings (mapped, compatible, NAT64 64:ff9b::/96, 6to4) get the same
// verdict, and its SIIT form ::ffff:0:a.b.c.d is refused whatever it is; and
// every range that IANA's special-purpose registries mark as not globally
// reachable (plus multicast and SIIT's ::ffff:0:0:0/96) is refused.
#include "fuzz.hpp"
#include "http/client/target_guard.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <initializer_list>

namespace {

using ls::http::forbidden_address;

struct range {
  std::array<unsigned char, 16> net;
  unsigned bits;
  const char* what;
};

bool in(const unsigned char* a, const unsigned char* net, unsigned bits) {
  for (unsigned i = 0; i < bits; ++i) {
    unsigned byte = i / 8, bit = 7 - i % 8;
    if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1)) return false;
  }
  return true;
}

// IANA IPv4 Special-Purpose Address Registry, "Globally Reachable" false, and
// multicast.
const range v4_registry[] = {
    {{0, 0, 0, 0}, 8, "this network"},
    {{10}, 8, "private"},
    {{100, 64}, 10, "shared (CGNAT)"},
    {{127}, 8, "loopback"},
    {{169, 254}, 16, "link local"},
    {{172, 16}, 12, "private"},
    {{192, 0, 0, 0}, 29, "IPv4 service continuity"},
    {{192, 0, 0, 8}, 32, "dummy"},
    {{192, 0, 0, 170}, 31, "NAT64 discovery"},
    {{192, 0, 2}, 24, "documentation"},
    {{192, 168}, 16, "private"},
    {{198, 18}, 15, "benchmarking"},
    {{198, 51, 100}, 24, "documentation"},
    {{203, 0, 113}, 24, "documentation"},
    {{224}, 4, "multicast"},
    {{240}, 4, "reserved"},
    {{255, 255, 255, 255}, 32, "limited broadcast"},
};

std::array<unsigned char, 16> v6(std::initializer_list<unsigned char> b) {
  std::array<unsigned char, 16> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

// IANA IPv6 Special-Purpose Address Registry, "Globally Reachable" false (the
// IPv4-embedding forms are judged by their IPv4 address instead), multicast,
// and SIIT's IPv4-translated form (RFC 2765; in no registry, refused whole).
const range v6_registry[] = {
    {v6({}), 128, "unspecified"},
    {v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 128, "loopback"},
    {v6({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}), 48, "local-use NAT64"},
    {v6({0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}), 96, "IPv4-translated (SIIT)"},
    {v6({0x01, 0x00}), 64, "discard-only"},
    {v6({0x20, 0x01, 0x00, 0x00}), 32, "Teredo"},
    {v6({0x20, 0x01, 0x00, 0x02, 0x00, 0x00}), 48, "benchmarking"},
    {v6({0x20, 0x01, 0x0d, 0xb8}), 32, "documentation"},
    {v6({0x3f, 0xff}), 20, "documentation"},
    {v6({0x5f, 0x00}), 16, "segment routing (SRv6) SIDs"},
    {v6({0xfc}), 7, "unique local"},
    {v6({0xfe, 0x80}), 10, "link-local"},
    {v6({0xff}), 8, "multicast"},
};

std::string v4_text(const unsigned char* b) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, b, text, sizeof text);
  return text;
}

std::string v6_text(const unsigned char* b) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b, text, sizeof text);
  return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto mode = data[0] % 3;
  ++data;
  --size;

  if (mode == 0) { // text as given
    std::string text(reinterpret_cast<const char*>(data), size);
    auto why = forbidden_address(text);
    unsigned char buf[16];
    if (inet_pton(AF_INET, text.c_str(), buf) == 1)
      FUZZ_CHECK(why == forbidden_address(v4_text(buf)), text);
    else if (inet_pton(AF_INET6, text.c_str(), buf) == 1)
      FUZZ_CHECK(why == forbidden_address(v6_text(buf)), text);
    else
      FUZZ_CHECK(why == "not an IP address", text);
    return 0;
  }

  if (mode == 1) { // IPv4 and its IPv6 embeddings
    if (size < 4) return 0;
    const unsigned char* a = data;
    auto text = v4_text(a);
    auto why = forbidden_address(text);
    for (auto& r : v4_registry)
      if (in(a, r.net.data(), r.bits))
        FUZZ_CHECK(!why.empty(), text + " is " + r.what);
    bool bad = !why.empty();
    std::array<unsigned char, 16> mapped{}, compat{}, nat64{}, sixto4{};
    mapped[10] = mapped[11] = 0xff;
    std::memcpy(&mapped[12], a, 4);
    std::memcpy(&compat[12], a, 4);
    nat64[1] = 0x64;
    nat64[2] = 0xff;
    nat64[3] = 0x9b;
    std::memcpy(&nat64[12], a, 4);
    sixto4[0] = 0x20;
    sixto4[1] = 0x02;
    std::memcpy(&sixto4[2], a, 4);
    sixto4[15] = 1;
    for (auto* e : {&mapped, &compat, &nat64, &sixto4}) {
      auto embedded = v6_text(e->data());
      FUZZ_CHECK(forbidden_address(embedded).empty() == !bad,
                 text + " as " + embedded + ": " + forbidden_address(embedded) +
                     " / " + why);
    }
    std::array<unsigned char, 16> siit{};
    siit[8] = siit[9] = 0xff;
    std::memcpy(&siit[12], a, 4);
    FUZZ_CHECK(!forbidden_address(v6_text(siit.data())).empty(),
               text + " as " + v6_text(siit.data()));
    return 0;
  }

  if (size < 16) return 0; // IPv6
  const unsigned char* a = data;
  auto text = v6_text(a);
  auto why = forbidden_address(text);
  FUZZ_CHECK(why != "not an IP address", text);
  for (auto& r : v6_registry)
    if (in(a, r.net.data(), r.bits))
      FUZZ_CHECK(!why.empty(), text + " is " + r.what);
  return 0;
}
