#include "client/test_pki.hpp"

#include <atomic>
#include <cstdio>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <unistd.h>

namespace ls::http::test {

void key_deleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}
void cert_deleter::operator()(X509* c) const {
  X509_free(c);
}

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test pki: ") + what);
}

key_ptr new_key() {
  key_ptr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EC key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  check(X509_add_ext(cert, ext, -1) == 1, "add extension");
  X509_EXTENSION_free(ext);
}

cert_ptr new_cert(EVP_PKEY* key, const std::string& cn) {
  static std::atomic<long> serial{1};
  cert_ptr c(X509_new());
  check(c != nullptr, "X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()),
                   serial++ + static_cast<long>(getpid()) * 1000);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  return c;
}

} // namespace

identity make_ca(const std::string& common_name) {
  identity ca{new_key(), nullptr};
  ca.cert = new_cert(ca.key.get(), common_name);
  X509* c = ca.cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(c, c, NID_subject_key_identifier, "hash");
  check(X509_sign(c, ca.key.get(), EVP_sha256()) > 0, "sign CA");
  return ca;
}

identity issue_server(const identity& ca, const std::vector<std::string>& dns,
                      const std::vector<std::string>& ips) {
  identity id{new_key(), nullptr};
  id.cert = new_cert(id.key.get(), dns.empty() ? ips.at(0) : dns.at(0));
  X509* c = id.cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(ca.cert.get()));
  std::string san;
  for (auto& d : dns)
    san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (auto& ip : ips)
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  add_ext(c, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(c, ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(c, ca.cert.get(), NID_ext_key_usage, "serverAuth");
  add_ext(c, ca.cert.get(), NID_subject_key_identifier, "hash");
  add_ext(c, ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  add_ext(c, ca.cert.get(), NID_subject_alt_name, san);
  check(X509_sign(c, ca.key.get(), EVP_sha256()) > 0, "sign server cert");
  return id;
}

pem_file::pem_file(X509* cert) {
  char tmpl[] = "/tmp/ls-client-ca-XXXXXX";
  int fd = mkstemp(tmpl);
  check(fd >= 0, "mkstemp");
  path_ = tmpl;
  FILE* f = fdopen(fd, "w");
  check(f != nullptr, "fdopen");
  bool ok = PEM_write_X509(f, cert) == 1;
  fclose(f);
  check(ok, "PEM_write_X509");
}

pem_file::~pem_file() {
  ::unlink(path_.c_str());
}

SSL_CTX* server_context(const identity& id) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  check(ctx != nullptr, "SSL_CTX_new");
  check(SSL_CTX_use_certificate(ctx, id.cert.get()) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, id.key.get()) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1,
        "server key/cert");
  return ctx;
}

} // namespace ls::http::test
