// OpenSSL's libcrypto, for SHA-256 (see Sources/HostBase/Support/SHA256.swift).
#include <openssl/evp.h>
