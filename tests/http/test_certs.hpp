#pragma once

// Test certificates made at test time with OpenSSL's C API: a CA, certificates it signs for a
// server (with host names and IP addresses) or a client, and self-signed ones. ECDSA P-256 keys,
// valid from an hour ago for a day. Nothing is checked in, so nothing expires in the repository.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace nodepack::testing {

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

namespace certs_detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

inline void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("test certificate: ") + what + " failed");
  }
}

inline Pkey new_key() {
  Pkey key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

template <class Write>
std::string to_pem(Write write) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  check(write(bio.get()) == 1, "PEM write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

inline std::string key_pem(EVP_PKEY* key) {
  return to_pem([key](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}
inline std::string cert_pem(X509* cert) {
  return to_pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed.
inline Cert make_cert(const std::string& common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                      const std::string& subject_alt_names, const char* extended_usage) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_ext(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(cert.get(), signer, NID_key_usage,
          ca ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature,keyEncipherment");
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!subject_alt_names.empty()) {
    add_ext(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
  }
  if (extended_usage != nullptr) {
    add_ext(cert.get(), signer, NID_ext_key_usage, extended_usage);
  }
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

// "DNS:localhost,IP:127.0.0.1" from two lists.
inline std::string alt_names(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  std::string out;
  for (const auto& d : dns) {
    out += (out.empty() ? "" : ",") + std::string("DNS:") + d;
  }
  for (const auto& ip : ips) {
    out += (out.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  return out;
}

}  // namespace certs_detail

class TestCa {
 public:
  explicit TestCa(const std::string& name = "nodepack test CA")
      : key_(certs_detail::new_key()),
        cert_(certs_detail::make_cert(name, key_.get(), nullptr, nullptr, true, "", nullptr)) {}

  std::string cert_pem() const { return certs_detail::cert_pem(cert_.get()); }

  // A server certificate for these host names and IP addresses (subjectAltName).
  CertAndKey issue_server(const std::string& common_name, const std::vector<std::string>& dns,
                          const std::vector<std::string>& ips) const {
    auto key = certs_detail::new_key();
    auto cert = certs_detail::make_cert(common_name, key.get(), cert_.get(), key_.get(), false,
                                        certs_detail::alt_names(dns, ips), "serverAuth");
    return {certs_detail::cert_pem(cert.get()), certs_detail::key_pem(key.get())};
  }
  CertAndKey issue_client(const std::string& common_name) const {
    auto key = certs_detail::new_key();
    auto cert = certs_detail::make_cert(common_name, key.get(), cert_.get(), key_.get(), false, "", "clientAuth");
    return {certs_detail::cert_pem(cert.get()), certs_detail::key_pem(key.get())};
  }

 private:
  certs_detail::Pkey key_;
  certs_detail::Cert cert_;
};

// A self-signed server certificate (its own CA, as `openssl req -x509` makes), as an operator would
// make for a quick start.
inline CertAndKey self_signed(const std::string& common_name, const std::vector<std::string>& dns,
                              const std::vector<std::string>& ips) {
  auto key = certs_detail::new_key();
  auto cert = certs_detail::make_cert(common_name, key.get(), nullptr, nullptr, true, certs_detail::alt_names(dns, ips),
                                      "serverAuth");
  return {certs_detail::cert_pem(cert.get()), certs_detail::key_pem(key.get())};
}

}  // namespace nodepack::testing
