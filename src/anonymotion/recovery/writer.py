"""Writing the encrypted recovery sidecar while a video is anonymized (format: :mod:`.sidecar`)."""

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
