#!/usr/bin/env python3
"""Writes the seed corpus of ciphertext_fuzz (corpus/ciphertext and corpus/keyfile).

Run once by hand (needs pyca/cryptography); the output is committed. The keys match the fixed
key ring in ciphertext_fuzz.cc: key id k is 32 copies of one byte (1 -> 0x11, 2 -> 0x22,
0xfffffffe -> 0xfe). Nonces are fixed so the output is reproducible.
"""
import base64
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {1: b"\x11" * 32, 2: b"\x22" * 32, 0xFFFFFFFE: b"\xfe" * 32}


def seal(key_id, nonce, plaintext, ad, version=1):
    header = bytes([version]) + struct.pack(">I", key_id)
    key = KEYS.get(key_id, b"\x00" * 32)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + ad)


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    row = b"registry_config/acme/ghcr/secret"
    ct_k2 = seal(2, bytes(range(12)), b"hello", b"")
    ct_k1 = seal(1, bytes(range(12, 24)), b"ghp_exampleTokenNotReal0123456789", row)
    write("ciphertext", "valid_key2_empty_ad", ct_k2)
    write("ciphertext", "valid_key1_row_ad", ct_k1)
    write("ciphertext", "valid_key2_empty_plaintext",
          seal(2, b"\xaa" * 12, b"", b"ws/1/registry/acr/password"))
    write("ciphertext", "valid_key_fffffffe", seal(0xFFFFFFFE, b"\x01" * 12, b"p\x00ss", row))
    # Input-chosen associated data (first byte = its length, then the ad, then the ciphertext).
    write("ciphertext", "valid_split_ad", bytes([3]) + b"abc" + seal(1, b"\x02" * 12, b"x", b"abc"))
    write("ciphertext", "truncated_1", ct_k1[:1])
    write("ciphertext", "truncated_header", ct_k1[:5])
    write("ciphertext", "truncated_nonce", ct_k1[:17])
    write("ciphertext", "truncated_32", ct_k1[:32])
    write("ciphertext", "truncated_tag", ct_k2[:-1])
    write("ciphertext", "wrong_version", seal(2, bytes(12), b"hello", b"", version=2))
    write("ciphertext", "unknown_key_id", seal(3, bytes(12), b"hello", b""))

    b64 = {k: base64.b64encode(v).decode() for k, v in KEYS.items()}
    write("keyfile", "valid", f"primary 2\nkey 1 {b64[1]}\nkey 2 {b64[2]}\n".encode())
    write("keyfile", "valid_comments_crlf",
          f"# keys\r\n\r\nprimary\t4294967294 # new\r\nkey 4294967294 {b64[0xFFFFFFFE]}\r\n"
          f"  key 1 {b64[1]}  # old\r\n".encode())
    write("keyfile", "missing_primary", f"key 1 {b64[1]}\n".encode())
    write("keyfile", "primary_not_present", f"primary 9\nkey 1 {b64[1]}\n".encode())
    write("keyfile", "duplicate_id", f"primary 1\nkey 1 {b64[1]}\nkey 1 {b64[2]}\n".encode())
    write("keyfile", "bad_base64", f"primary 1\nkey 1 {b64[1][:10]}*{b64[1][11:]}\n".encode())
    write("keyfile", "short_key", f"primary 1\nkey 1 {base64.b64encode(bytes(31)).decode()}\n"
          .encode())
    write("keyfile", "id_zero", f"primary 0\nkey 0 {b64[1]}\n".encode())
    write("keyfile", "garbage", b"primary 1\nthis is not a key line\n")


if __name__ == "__main__":
    main()
