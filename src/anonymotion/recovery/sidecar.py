"""Recoverable anonymization: the original pixels of every changed region, encrypted.

While a video is anonymized, :class:`anonymotion.recovery.writer.RecoveryWriter` compares each original frame with its
anonymized version, cuts the rectangles around the changed pixels out of the *original*,
compresses them losslessly (PNG) and encrypts them with AES-256-GCM into a sidecar
``*.recovery``. When the output video is finished the sidecar is bound to it (its SHA-256
goes into an authenticated trailer). :func:`anonymotion.recovery.reader.recover` checks key, integrity and binding
before it writes anything, then pastes the original pixels back into the decoded frames.

Sidecar layout (all integers big-endian)::

    MAGIC | u32 n | header JSON (n bytes) | u32 n | key check (n bytes) | records...
    record = u32 n | AES-GCM ciphertext (n bytes)

Record ``i`` is encrypted with nonce ``prefix(8) || i(4)`` and associated data
``SHA-256(header) || kind || i``: a record that is changed, removed, reordered or moved
to another file fails authentication. The last record (kind ``final``) holds the number of
frames and records and the SHA-256 of the anonymized video. Without the key the file shows
only the frame size and the size of each encrypted record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from anonymotion.recovery.keys import (
    KEY_BYTES, SALT_BYTES, SCRYPT_N, SCRYPT_P, SCRYPT_R, Passphrase, WrongKeyError, aead, data_key,
    derive_from_passphrase, passphrase_from_env, prompt_passphrase, read_key_file,
)
from anonymotion.errors import ConfigError, InputError
from anonymotion.types import Regions, VideoInfo

log = logging.getLogger(__name__)

MAGIC = b"ANONYMOTION-RECOVERY\n"
VERSION = 1
HKDF_INFO = b"anonymotion recovery v1"
KEY_CHECK = b"anonymotion recovery key check"
CELL = 16  # px: changed pixels are grouped on a grid of CELL x CELL cells before cutting rectangles
MAX_RECTS = 32  # more separate changed areas than this in one frame are stored as one rectangle
MAX_RECORD = 1 << 30  # bytes; a larger length field means the file is corrupt
_CHECK_INDEX = 0xFFFFFFFF


class RecoveryFileError(InputError):
    """The recovery file is not one, is truncated, or was modified after it was written."""


class VideoMismatchError(InputError):
    """The recovery file belongs to another video than the one given."""


def load_key(key_file: Path | None, passphrase_env: str | None = None, *, prompt: bool = False,
             confirm: bool = False) -> bytes:
    """The key material for recoverable anonymization.

    key_file: a file from ``anonymotion keygen`` (32-byte key). passphrase_env: name of an
    environment variable holding a passphrase. prompt: ask on the terminal when neither is
    given (``confirm`` asks twice). A passphrase comes back as :class:`Passphrase`, stretched
    with scrypt later with the salt stored in the recovery file's header.
    """
    if key_file is not None and passphrase_env:
        raise ConfigError(None, "give either --key KEYFILE or --passphrase-env VAR, not both")
    if key_file is not None:
        return read_key_file(key_file)
    if passphrase_env:
        return passphrase_from_env(passphrase_env)
    if prompt:
        return prompt_passphrase(confirm=confirm)
    raise ConfigError(None, "a key is needed: --key KEYFILE (from `anonymotion keygen`) or --passphrase-env VAR")


def changed_rects(original: np.ndarray, anonymized: np.ndarray, cell: int = CELL) -> list[tuple[int, int, int, int]]:
    """Rectangles (x, y, w, h) in pixels covering every pixel where the two frames differ.

    Both frames are (H, W, 3) uint8. Changed pixels are marked on a grid of ``cell`` px,
    neighbouring cells joined, and each group's bounding box returned (clipped to the frame).
    """
    if original.shape != anonymized.shape:
        raise ValueError(f"frame shapes differ: {original.shape} vs {anonymized.shape}")
    diff = np.any(original != anonymized, axis=2)
    if not diff.any():
        return []
    h, w = diff.shape
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), bool)
    padded[:h, :w] = diff
    cells = padded.reshape(gh, cell, gw, cell).any(axis=(1, 3)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(cells, connectivity=8)
    rects = []
    for x, y, cw, ch, _area in stats[1:]:
        x1, y1 = x * cell, y * cell
        x2, y2 = min(w, (x + cw) * cell), min(h, (y + ch) * cell)
        rects.append((int(x1), int(y1), int(x2 - x1), int(y2 - y1)))
    if len(rects) > MAX_RECTS:
        x1 = min(r[0] for r in rects)
        y1 = min(r[1] for r in rects)
        x2 = max(r[0] + r[2] for r in rects)
        y2 = max(r[1] + r[3] for r in rects)
        rects = [(x1, y1, x2 - x1, y2 - y1)]
    return rects


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(header_digest: bytes, kind: bytes, index: int) -> bytes:
    return header_digest + kind + struct.pack(">I", index)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _master_key(key: bytes, kdf: dict, path: Path) -> bytes:
    """Master key from key material and the header's ``kdf`` entry."""
    kind = kdf.get("type")
    if kind == "keyfile":
        if isinstance(key, Passphrase):
            raise WrongKeyError(path, "this recovery file was made with a key file; give it with --key KEYFILE")
        if len(key) != KEY_BYTES:
            raise ConfigError(None, f"a key must have {KEY_BYTES} bytes, not {len(key)}")
        return bytes(key)
    if kind == "scrypt":
        if not isinstance(key, Passphrase):
            raise WrongKeyError(path, "this recovery file was made with a passphrase; "
                                      "give it with --passphrase-env VAR (or at the prompt)")
        try:
            salt = base64.b64decode(kdf["salt"])
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            if not (2 <= n <= 2 ** 20 and 1 <= r <= 32 and 1 <= p <= 16):  # refuse absurd (memory-hungry) costs
                raise ValueError(f"scrypt parameters n={n}, r={r}, p={p} out of range")
            return derive_from_passphrase(key, salt, n=n, r=r, p=p)
        except (KeyError, ValueError, TypeError) as exc:
            raise RecoveryFileError(path, f"recovery file header is corrupt (key derivation: {exc})") from None
    raise RecoveryFileError(path, f"recovery file header names an unknown key derivation {kind!r}")
