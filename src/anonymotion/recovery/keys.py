"""Keys for recoverable anonymization: key files, passphrases (scrypt) and AES-256-GCM.

A *key file* (``anonymotion keygen KEYFILE``) holds 32 random bytes, base64 encoded under a
one-line header, and is created with permissions 0600. A *passphrase* (from an environment
variable or a prompt) is turned into a 32-byte key with scrypt and a random salt that the
recovery file stores in its header. Either way the key is a *master* key: every recovery
file derives its own data key from it with HKDF-SHA256 and a per-file random salt, so the
same key can protect many files without ever reusing a (key, nonce) pair.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import logging
import os
import secrets
from pathlib import Path

from anonymotion.errors import ConfigError, InputError, OutputError

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
KEYFILE_HEADER = "anonymotion-key v1"
#: scrypt cost parameters (n = 2^15, r = 8, p = 1: ~32 MiB and ~0.1 s per derivation).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
SALT_BYTES = 16


class WrongKeyError(ConfigError):
    """The key or passphrase does not open this recovery file."""


class Passphrase(bytes):
    """A passphrase (UTF-8 bytes) still to be stretched with scrypt and the file's salt.

    :func:`load_key` returns it in place of a key; recovery files derive the key with
    :func:`derive_from_passphrase` once they know (or create) the salt.
    """

    kind = "scrypt"


def generate_key_file(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a new random 256-bit key to ``path`` with permissions 0600 and return the path.

    Refuses to overwrite an existing file unless ``force`` (a lost key cannot be recovered,
    and neither can the videos it protects). Raises OutputError when it cannot write.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name for the key")
    if path.exists() and not force:
        raise OutputError(path, "key file already exists; refusing to overwrite it (use --force to replace it, "
                                "which makes files protected by the old key unrecoverable with the new one)")
    if not path.parent.is_dir():
        raise OutputError(path.parent, "folder does not exist")
    text = f"{KEYFILE_HEADER}\n{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, f"cannot write the key file ({exc.strerror or exc})") from None
    return path


def read_key_file(path: str | os.PathLike) -> bytes:
    """The 32-byte key in a file written by :func:`generate_key_file`.

    Raises InputError naming the file when it is missing, unreadable or not a key file;
    logs a warning when other users may read it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "key file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a key file")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the key file ({getattr(exc, 'strerror', None) or exc})") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 2 or lines[0] != KEYFILE_HEADER:
        raise InputError(path, "not an anonymotion key file (create one with `anonymotion keygen KEYFILE`)")
    try:
        key = base64.b64decode(lines[1], validate=True)
    except binascii.Error:
        raise InputError(path, "key file is corrupt (the key is not valid base64)") from None
    if len(key) != KEY_BYTES:
        raise InputError(path, f"key file is corrupt (key has {len(key)} bytes, expected {KEY_BYTES})")
    mode = path.stat().st_mode & 0o077
    if mode:
        log.warning("%s: key file is readable by other users (mode %o); chmod 600 it", path,
                    path.stat().st_mode & 0o777)
    return key


def passphrase_from_env(var: str) -> Passphrase:
    """The passphrase in environment variable ``var``; ConfigError when unset or empty."""
    value = os.environ.get(var)
    if not value:
        raise ConfigError(None, f"environment variable {var} with the passphrase is not set or empty")
    return Passphrase(value.encode("utf-8"))


def prompt_passphrase(*, confirm: bool = False) -> Passphrase:
    """Ask for a passphrase on the terminal (twice with ``confirm``)."""
    first = getpass.getpass("Passphrase: ")
    if not first:
        raise ConfigError(None, "empty passphrase")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise ConfigError(None, "the passphrases do not match")
    return Passphrase(first.encode("utf-8"))


def derive_from_passphrase(passphrase: bytes, salt: bytes, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                           p: int = SCRYPT_P) -> bytes:
    """32-byte key from a passphrase with scrypt (RFC 7914) and ``salt``."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(bytes(passphrase))


def data_key(master: bytes, salt: bytes, info: bytes) -> bytes:
    """Per-file 32-byte AES key from a master key with HKDF-SHA256 (``salt`` random per file)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(bytes(master))


def aead(key: bytes):
    """AES-256-GCM cipher object for ``key`` (``encrypt(nonce, data, aad)`` / ``decrypt``)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)
