"""Recoverable anonymization: the original pixels of every changed region, encrypted.

While a video is anonymized, :class:`RecoveryWriter` compares each original frame with its
anonymized version, cuts the rectangles around the changed pixels out of the *original*,
compresses them losslessly (PNG) and encrypts them with AES-256-GCM into a sidecar
``*.recovery``. When the output video is finished the sidecar is bound to it (its SHA-256
goes into an authenticated trailer). :func:`recover` checks key, integrity and binding
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


class RecoveryWriter:
    """Streams the original pixels of anonymized regions into an encrypted sidecar.

    sidecar: final path (``*.recovery``); written under a temporary name until :meth:`close`.
    key: a 32-byte key (key file) or a :class:`Passphrase`. info: the input video (frame size).
    """

    def __init__(self, sidecar: Path, key: bytes, info: VideoInfo) -> None:
        from anonymotion.io.writer import ensure_writable_dir, temp_path_for

        self.path = Path(sidecar)
        ensure_writable_dir(self.path.parent)
        kdf: dict = {"type": "keyfile"}
        if isinstance(key, Passphrase):
            salt = secrets.token_bytes(SALT_BYTES)
            kdf = {"type": "scrypt", "salt": base64.b64encode(salt).decode(), "n": SCRYPT_N, "r": SCRYPT_R,
                   "p": SCRYPT_P}
            master = derive_from_passphrase(key, salt)
        else:
            if len(key) != KEY_BYTES:
                raise ConfigError(None, f"a key must have {KEY_BYTES} bytes, not {len(key)}")
            master = bytes(key)
        file_salt = secrets.token_bytes(SALT_BYTES)
        self._prefix = secrets.token_bytes(8)
        header = {
            "format": "anonymotion-recovery", "version": VERSION, "cipher": "AES-256-GCM",
            "compression": "png", "kdf": kdf, "salt": base64.b64encode(file_salt).decode(),
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
            "width": int(info.width), "height": int(info.height),
        }
        header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
        self._digest = hashlib.sha256(header_bytes).digest()
        self._aead = aead(data_key(master, file_salt, HKDF_INFO))
        self.size = (int(info.width), int(info.height))
        self.records = 0
        self.frames = 0
        self.stored_pixels = 0
        self._last_index = -1
        self.tmp = temp_path_for(self.path)
        self._fh: BinaryIO | None = open(self.tmp, "wb")
        try:
            check = self._aead.encrypt(_nonce(self._prefix, _CHECK_INDEX), KEY_CHECK,
                                       _aad(self._digest, b"check", _CHECK_INDEX))
            self._fh.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
                           + struct.pack(">I", len(check)) + check)
        except OSError:
            self.abort()
            raise

    def add(self, index: int, original: np.ndarray, anonymized: np.ndarray, regions: Regions | None = None) -> None:
        """Store the original pixels of frame ``index`` wherever ``anonymized`` differs from it.

        original/anonymized: (H, W, 3) uint8, same shape. Frames must come in increasing
        index order. ``regions`` is accepted for the pipeline's convenience; the pixel
        comparison alone decides what is stored (it covers every pixel a method changed).
        """
        if self._fh is None:
            raise RuntimeError("RecoveryWriter used after close()/abort()")
        if index <= self._last_index:
            raise ValueError(f"frame {index} given after frame {self._last_index}; frames must come in order")
        self._last_index = index
        self.frames += 1
        rects = changed_rects(original, anonymized)
        if not rects:
            return
        parts = [b"F", struct.pack(">IH", index, len(rects))]
        for x, y, w, h in rects:
            ok, png = cv2.imencode(".png", np.ascontiguousarray(original[y:y + h, x:x + w]),
                                   [cv2.IMWRITE_PNG_COMPRESSION, 3])
            if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
                raise RuntimeError(f"PNG encoding of frame {index} failed")
            data = png.tobytes()
            parts.append(struct.pack(">IIIII", x, y, w, h, len(data)))
            parts.append(data)
            self.stored_pixels += w * h
        self._write_record(b"frame", b"".join(parts))

    def _write_record(self, kind: bytes, plaintext: bytes) -> None:
        assert self._fh is not None
        i = self.records
        ct = self._aead.encrypt(_nonce(self._prefix, i), plaintext, _aad(self._digest, kind, i))
        self._fh.write(struct.pack(">I", len(ct)) + ct)
        self.records += 1

    def close(self, anonymized_video: Path) -> Path:
        """Bind the sidecar to the finished ``anonymized_video`` (SHA-256) and rename it into place."""
        if self._fh is None:
            return self.path
        try:
            trailer = {"frames": self.frames, "records": self.records + 1,
                       "video_sha256": _sha256_file(Path(anonymized_video)),
                       "video_bytes": Path(anonymized_video).stat().st_size}
            self._write_record(b"final", b"E" + json.dumps(trailer, sort_keys=True).encode())
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        log.info("%s: %d frames, %d records, %.1f Mpx of original pixels stored", self.path, self.frames,
                 self.records, self.stored_pixels / 1e6)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; nothing is left under the final name."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        self.tmp.unlink(missing_ok=True)


class RecoveryReader:
    """Opens a sidecar, checks the key and the trailer, and yields the stored frames.

    Raises RecoveryFileError (not a recovery file, truncated, modified) or WrongKeyError.
    """

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "recovery file not found")
        self._fh = open(self.path, "rb")
        try:
            self._open(key)
        except BaseException:
            self._fh.close()
            raise

    def _read_exact(self, n: int, what: str) -> bytes:
        data = self._fh.read(n)
        if len(data) != n:
            raise RecoveryFileError(self.path, f"recovery file is truncated ({what} incomplete)")
        return data

    def _read_len(self, what: str) -> int:
        n = struct.unpack(">I", self._read_exact(4, what))[0]
        if n > MAX_RECORD:
            raise RecoveryFileError(self.path, f"recovery file is corrupt ({what} claims {n} bytes)")
        return n

    def _open(self, key: bytes) -> None:
        if self._fh.read(len(MAGIC)) != MAGIC:
            raise RecoveryFileError(self.path, "not an anonymotion recovery file")
        header_bytes = self._read_exact(self._read_len("header"), "header")
        try:
            header = json.loads(header_bytes)
            if header.get("version") != VERSION:
                raise RecoveryFileError(self.path, f"unsupported recovery file version {header.get('version')!r}")
            self.width, self.height = int(header["width"]), int(header["height"])
            file_salt = base64.b64decode(header["salt"])
            self._prefix = base64.b64decode(header["nonce_prefix"])
            kdf = dict(header["kdf"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecoveryFileError(self.path, f"recovery file header is corrupt ({exc})") from None
        self._digest = hashlib.sha256(header_bytes).digest()
        self._aead = aead(data_key(_master_key(key, kdf, self.path), file_salt, HKDF_INFO))
        check = self._read_exact(self._read_len("key check"), "key check")
        if not self._decrypt(check, b"check", _CHECK_INDEX) == KEY_CHECK:
            raise WrongKeyError(self.path, "wrong key for this recovery file (or its header was modified); "
                                           "nothing was written")
        self._records_start = self._fh.tell()
        self.trailer = self._read_trailer()

    def _decrypt(self, ct: bytes, kind: bytes, index: int) -> bytes | None:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(_nonce(self._prefix, index), ct, _aad(self._digest, kind, index))
        except InvalidTag:
            return None

    def _read_trailer(self) -> dict:
        """Walk the record lengths to the last record and authenticate it as the trailer."""
        count, last = 0, None
        size = os.fstat(self._fh.fileno()).st_size
        while self._fh.tell() < size:
            n = self._read_len(f"record {count}")
            last = self._fh.tell()
            if last + n > size:
                raise RecoveryFileError(self.path, f"recovery file is truncated (record {count} incomplete)")
            self._fh.seek(n, os.SEEK_CUR)
            count += 1
        if last is None:
            raise RecoveryFileError(self.path, "recovery file is truncated (no records)")
        self._fh.seek(last - 4)
        ct = self._read_exact(self._read_len("trailer"), "trailer")
        plain = self._decrypt(ct, b"final", count - 1)
        if plain is None or not plain.startswith(b"E"):
            raise RecoveryFileError(self.path, "recovery file was modified or is incomplete "
                                               "(its final record failed authentication)")
        trailer = json.loads(plain[1:])
        if trailer.get("records") != count:
            raise RecoveryFileError(self.path, "recovery file was modified (record count differs)")
        self._fh.seek(self._records_start)
        return trailer

    def frames(self) -> Iterator[tuple[int, list[tuple[int, int, np.ndarray]]]]:
        """Yield (frame index, [(x, y, (h, w, 3) uint8 original pixels), ...]) in frame order."""
        self._fh.seek(self._records_start)
        for i in range(int(self.trailer["records"]) - 1):
            ct = self._read_exact(self._read_len(f"record {i}"), f"record {i}")
            plain = self._decrypt(ct, b"frame", i)
            if plain is None or not plain.startswith(b"F"):
                raise RecoveryFileError(self.path, f"recovery file was modified (record {i} failed authentication)")
            yield self._parse_frame(plain, i)

    def _parse_frame(self, plain: bytes, i: int) -> tuple[int, list[tuple[int, int, np.ndarray]]]:
        try:
            index, n = struct.unpack_from(">IH", plain, 1)
            pos = 1 + struct.calcsize(">IH")
            patches = []
            for _ in range(n):
                x, y, w, h, size = struct.unpack_from(">IIIII", plain, pos)
                pos += 20
                patch = cv2.imdecode(np.frombuffer(plain, np.uint8, count=size, offset=pos), cv2.IMREAD_UNCHANGED)
                pos += size
                if patch is None or patch.shape != (h, w, 3) or x + w > self.width or y + h > self.height:
                    raise ValueError("bad patch")
                patches.append((x, y, patch))
        except (struct.error, ValueError) as exc:
            raise RecoveryFileError(self.path, f"recovery file record {i} is malformed ({exc})") from None
        return index, patches

    def close(self) -> None:
        self._fh.close()


def recover(anonymized: Path, recovery: Path, key: bytes, out: Path, *,
            progress: Callable[[int, int], None] | None = None, crf: int = 10,
            preset: str = "veryfast") -> Path:
    """Write ``out``: ``anonymized`` with the original pixels from ``recovery`` put back.

    Checks, before writing anything: the key (WrongKeyError), the sidecar's integrity
    (RecoveryFileError) and that it belongs to ``anonymized`` (VideoMismatchError, by
    SHA-256). The restored video is H.264 at ``crf`` (default 10, near lossless);
    progress(done, total) is called per frame. Returns ``out``.
    """
    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter

    anonymized, recovery, out = Path(anonymized), Path(recovery), Path(out)
    for src in (anonymized, recovery):
        if out.exists() and out.resolve() == src.resolve():
            raise ConfigError(out, "output would overwrite an input; choose another output name")
    info = probe(anonymized)
    reader = RecoveryReader(recovery, key)
    try:
        digest = _sha256_file(anonymized)
        if digest != reader.trailer.get("video_sha256"):
            raise VideoMismatchError(recovery, f"recovery file belongs to another video, not {anonymized.name} "
                                               "(SHA-256 differs; was the video re-encoded or edited?)")
        total = int(reader.trailer["frames"])
        writer = VideoWriter(out, reader.width, reader.height, info.time_base, fps=info.fps, crf=crf, preset=preset)
        try:
            records = reader.frames()
            pending = next(records, None)
            done = 0
            for frame in iter_frames(anonymized, info):
                rgb = frame.rgb[:reader.height, :reader.width]
                if pending is not None and pending[0] == frame.index:
                    rgb = rgb.copy()
                    for x, y, patch in pending[1]:
                        rgb[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
                    pending = next(records, None)
                writer.write(rgb, frame.pts if frame.pts is not None else frame.index)
                done += 1
                if progress is not None:
                    progress(done, total)
            if pending is not None or done != total:
                raise RecoveryFileError(recovery, f"recovery file does not match the video's frames "
                                                  f"({total} frames recorded, {done} decoded)")
            writer.close()
        except BaseException:
            writer.abort()
            raise
    finally:
        reader.close()
    return out
