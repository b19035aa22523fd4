"""Reading the recovery sidecar and restoring the original pixels (format: :mod:`.sidecar`)."""

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

from anonymotion.errors import ConfigError, InputError
from anonymotion.recovery.keys import (
    KEY_BYTES, SALT_BYTES, SCRYPT_N, SCRYPT_P, SCRYPT_R, Passphrase, WrongKeyError, aead, data_key,
    derive_from_passphrase, passphrase_from_env, prompt_passphrase, read_key_file,
)
from anonymotion.recovery.sidecar import (
    _CHECK_INDEX, CELL, HKDF_INFO, KEY_CHECK, MAGIC, MAX_RECORD, MAX_RECTS, VERSION, RecoveryFileError,
    VideoMismatchError, _aad, _master_key, _nonce, _sha256_file, changed_rects,
)
from anonymotion.types import Regions, VideoInfo

log = logging.getLogger(__name__)


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
