"""Fetching raw data files: from the cache, a local mirror, or the canonical URL, always checksummed.

A file enters the cache only after its checksum matched, through a temporary file that is renamed
into place, so an interrupted copy or download never leaves a half file where a good one belongs.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from . import settings

CHUNK = 1 << 20


class DataError(Exception):
    """A data file is missing, unreadable or not the file we expect."""


class DataUnavailableError(DataError, FileNotFoundError):
    """No cached copy, no mirror copy, and no way to download the file."""


class ChecksumError(DataError, ValueError):
    """A file's content does not match its registered checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it lives in a mirror and online, and its checksum.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"`` of the file's own bytes (for a
    ``.gz`` mirror copy of a plain file, of the bytes after decompression).
    """

    path: str  # relative path, the same in the cache and in a mirror, e.g. "ag_news_csv/test.csv"
    checksum: str
    size: int | None = None
    url: str | None = None
    how_to_get: str = ""  # shown when the file can be neither found nor downloaded

    @property
    def name(self) -> str:
        return Path(self.path).name


def fetch(remote: RemoteFile, download: bool = True) -> Path:
    """Return a verified local path to ``remote``: cache first, then mirrors, then its URL.

    With ``download=False`` a file that is neither cached nor mirrored raises
    :class:`DataUnavailableError` instead of going online.
    """
    target = settings.data_dir() / "raw" / remote.path
    if target.exists():
        if remote.size is not None and target.stat().st_size != remote.size:
            raise DataError(
                f"cached {target} has {target.stat().st_size:,} bytes, expected {remote.size:,}: "
                f"it is truncated or corrupted; delete it and load again"
            )
        return target
    for source in _mirror_candidates(remote):
        decompress = source.suffix == ".gz" and not remote.path.endswith(".gz")
        opener = gzip.open if decompress else open
        try:
            with opener(source, "rb") as stream:
                return _store(stream, remote, target, origin=str(source))
        except (EOFError, gzip.BadGzipFile, OSError) as err:
            if isinstance(err, DataError):
                raise
            raise DataError(f"mirror file {source} is corrupted or truncated ({err})") from err
    if not download:
        raise DataUnavailableError(_where_to_put(remote, target))
    return _download(remote, target)


def fetch_first(candidates: list[RemoteFile]) -> Path:
    """Fetch the first candidate found locally (cache or mirror); else download the first one."""
    for remote in candidates:
        try:
            return fetch(remote, download=False)
        except DataUnavailableError:
            continue
    return fetch(candidates[0])


def file_checksum(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``algorithm`` is any name hashlib knows)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirror_candidates(remote: RemoteFile) -> list[Path]:
    names = [remote.path, remote.path + ".gz", remote.name, remote.name + ".gz"]
    return [mirror / n for mirror in settings.mirror_dirs() for n in names if (mirror / n).is_file()]


def _store(stream: BinaryIO, remote: RemoteFile, target: Path, origin: str, total: int | None = None) -> Path:
    """Copy ``stream`` to a temp file beside ``target`` while hashing; verify, then rename."""
    algorithm, expected = remote.checksum.split(":", 1)
    digest = hashlib.new(algorithm)
    with atomic_write(target) as tmp:
        written = 0
        with open(tmp, "wb") as out, tqdm(
            total=total or remote.size, unit="B", unit_scale=True, desc=remote.name, leave=False, mininterval=1
        ) as bar:
            for block in iter(lambda: stream.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
                written += len(block)
                bar.update(len(block))
        if total is not None and written != total:
            raise DataError(f"{origin}: got {written:,} of {total:,} bytes: the transfer was cut short")
        if remote.size is not None and written != remote.size:
            raise DataError(
                f"{origin}: {written:,} bytes, expected {remote.size:,}: the file is truncated or not {remote.path}"
            )
        if digest.hexdigest() != expected:
            raise ChecksumError(
                f"{origin}: {algorithm} is {digest.hexdigest()}, expected {expected}: "
                f"the file is corrupted or a different version of {remote.path}"
            )
    return target


@contextmanager
def atomic_write(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` that replaces it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _where_to_put(remote: RemoteFile, target: Path) -> str:
    mirrors = settings.mirror_dirs()
    looked = ", ".join(str(m) for m in mirrors) if mirrors else "none (TEXTCLF_DATA_MIRROR is not set)"
    return (
        f"{remote.path} is not cached and not in a mirror. {remote.how_to_get} "
        f"Put {remote.path} (or {remote.name}, plain or .gz) in a directory and point "
        f"TEXTCLF_DATA_MIRROR at it, or copy it to {target}. Mirrors searched: {looked}."
    )


def _download(remote: RemoteFile, target: Path) -> Path:
    where = _where_to_put(remote, target)
    if remote.url is None:
        raise DataUnavailableError(f"{remote.path} cannot be downloaded automatically. {where}")
    try:
        with urllib.request.urlopen(remote.url, timeout=30) as response:
            length = response.headers.get("Content-Length")
            return _store(response, remote, target, origin=remote.url, total=int(length) if length else None)
    except http.client.IncompleteRead as err:
        raise DataError(f"{remote.url}: the transfer was cut short ({err}); try again") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise DataUnavailableError(f"could not download {remote.url} ({err}); offline? {where}") from err

