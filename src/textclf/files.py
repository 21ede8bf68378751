"""Fetching raw data files: from the cache, a local mirror, or the canonical URL, always checksummed.

A file enters the cache only after its checksum matched, through a temporary file that is renamed
into place, so an interrupted copy or download never leaves a half file where a good one belongs.
A cached file is checksummed again every time it is fetched, and a bad copy is replaced from a
mirror or its URL (or refused with a message saying so), never returned.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import http.client
import os
import re
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from . import settings
from .checks import DataError, check_int

CHUNK = 1 << 20
#: A ``.part`` file left by a killed process is deleted once it has not changed for this long
#: (sooner if its name shows that its writer ran here and has ended: see :func:`_writer_is_gone`).
STALE_PART_SECONDS = 3600
_CHECKSUM = re.compile(r"^(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32})$")
#: Errors a damaged gzip stream raises while it is read.
_BAD_STREAM = (EOFError, gzip.BadGzipFile, zlib.error)


class DataUnavailableError(DataError, FileNotFoundError):
    """No cached copy, no mirror copy, and no way to download the file."""


class ChecksumError(DataError, ValueError):
    """A file's content does not match its registered checksum."""


class CacheWriteError(DataError, OSError):
    """A file cannot be written (the data cache, a vocabulary, results): not a directory, no
    permission, disk full."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it lives in a mirror and online, and its checksum.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"`` of the file's own bytes (for a
    ``.gz`` mirror copy of a plain file, of the bytes after decompression). Every registered
    file has one: a file is never trusted without it.
    """

    path: str  # relative path, the same in the cache and in a mirror, e.g. "ag_news_csv/test.csv"
    checksum: str
    size: int | None = None
    url: str | None = None
    how_to_get: str = ""  # shown when the file can be neither found nor downloaded

    def __post_init__(self):
        if not isinstance(self.path, str) or not self.path or Path(self.path).is_absolute() or ".." in Path(self.path).parts:
            raise ValueError(f"RemoteFile path must be a relative path without '..', got {self.path!r}")
        if not isinstance(self.checksum, str) or not _CHECKSUM.match(self.checksum):
            raise ValueError(
                f"RemoteFile {self.path}: checksum must be 'sha256:<64 hex digits>' or 'md5:<32 hex digits>' "
                f"(lower case), got {self.checksum!r}"
            )
        try:
            check_int(self.size, "size", 1, allow_none=True)
        except (TypeError, ValueError) as err:
            raise type(err)(f"RemoteFile {self.path}: {err}") from None

    @property
    def name(self) -> str:
        return Path(self.path).name


def fetch(remote: RemoteFile, download: bool = True) -> Path:
    """Return a verified local path to ``remote``: cache first, then mirrors, then its URL.

    The cached copy is checksummed every time; a corrupted one is replaced from a mirror or the
    URL. With ``download=False`` a file that is neither cached nor mirrored raises
    :class:`DataUnavailableError` instead of going online.
    """
    if not isinstance(remote, RemoteFile):
        raise TypeError(f"fetch takes a RemoteFile, got {type(remote).__name__}")
    target = settings.data_dir() / "raw" / remote.path
    damage = None
    if target.is_file():
        try:
            verify(target, remote)
        except DataError as err:
            damage = err
        else:
            _remove_stale_parts(target)  # a killed copy's leftovers; a copy writes through atomic_write
            return target
    bad_mirror_files: list[DataError] = []
    for source in _mirror_candidates(remote):
        decompress = source.suffix == ".gz" and not remote.path.endswith(".gz")
        opener = gzip.open if decompress else open
        try:
            try:
                stream = opener(source, "rb")
            except OSError as err:
                raise DataError(f"cannot read mirror file {source} ({err})") from err
            with stream:
                path = _store(stream, remote, target, origin=f"mirror file {source}")
        except CacheWriteError:
            raise
        except DataError as err:  # try the next copy; report this one if none is good
            bad_mirror_files.append(err)
            continue
        for err in bad_mirror_files:
            warnings.warn(f"{err}; used {source} instead", stacklevel=2)
        if damage is not None:
            warnings.warn(f"{damage} It was replaced by a verified copy of {source}.", stacklevel=2)
        return path
    if bad_mirror_files:
        raise bad_mirror_files[0] if len(bad_mirror_files) == 1 else DataError(
            "no mirror copy of " + remote.path + " is good: " + "; ".join(map(str, bad_mirror_files)))
    if damage is not None and (not download or remote.url is None):
        raise _unrepaired(damage, remote, "downloading was not allowed" if remote.url else "")
    if not download:
        raise DataUnavailableError(_where_to_put(remote))
    try:
        path = _download(remote, target)
    except DataError as err:
        if damage is None or isinstance(err, CacheWriteError):
            raise
        raise _unrepaired(damage, remote, f"downloading one failed: {err}") from err
    if damage is not None:
        warnings.warn(f"{damage} It was replaced by a verified download of {remote.url}.", stacklevel=2)
    return path


def _unrepaired(damage: DataError, remote: RemoteFile, why: str) -> ChecksumError:
    return ChecksumError(
        f"{damage} No mirror holds a copy to replace it{f' ({why})' if why else ''}: delete it, then put a "
        f"good copy of {remote.path} in a directory that TEXTCLF_DATA_MIRROR names (it is verified when "
        f"copied into the cache)."
    )


def locate(candidates: list[RemoteFile]) -> tuple[Path, RemoteFile]:
    """Fetch the first candidate found locally (cache or mirror), else download the first one;
    return its path and which candidate it is."""
    if not candidates:
        raise ValueError("no candidate files given")
    for remote in candidates:  # the first one with a local copy (a bad cached one is re-fetched)
        if (settings.data_dir() / "raw" / remote.path).is_file() or _mirror_candidates(remote):
            return fetch(remote), remote
    return fetch(candidates[0]), candidates[0]


def verify(path: Path, remote: RemoteFile) -> Path:
    """Return ``path`` if its size and checksum are ``remote``'s; else raise a :class:`DataError`."""
    try:
        size = path.stat().st_size
        if remote.size is not None and size != remote.size:
            raise DataError(
                f"cached {path} has {size:,} bytes, expected {remote.size:,}: it is truncated or corrupted."
            )
        algorithm, expected = remote.checksum.split(":", 1)
        actual = file_checksum(path, algorithm)
    except OSError as err:
        raise DataError(f"cannot read cached {path} ({err})") from err
    if actual != expected:
        raise ChecksumError(f"cached {path}: {algorithm} is {actual}, expected {expected}: the file is corrupted.")
    return path


def read_json(path: Path, what: str, remedy: str = ""):
    """Parse the JSON file ``path``; an unreadable or malformed file raises a DataError that names
    the file, says it should have been ``what`` and, with ``remedy``, what to do."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"cannot read {what} {path} ({err})") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not {what} ({type(err).__name__}: {err}){remedy}") from err


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


def _read(stream: BinaryIO, origin: str) -> bytes:
    """One block of ``stream``; a damaged or unreadable source is reported by name."""
    try:
        return stream.read(CHUNK)
    except _BAD_STREAM as err:
        raise DataError(f"{origin} is corrupted or truncated ({type(err).__name__}: {err})") from err
    except (ssl.SSLError, http.client.HTTPException) as err:
        raise DataError(f"{origin}: the transfer failed ({type(err).__name__}: {err}); try again") from err
    except OSError as err:
        raise DataError(f"cannot read {origin} ({err})") from err


def _store(stream: BinaryIO, remote: RemoteFile, target: Path, origin: str, total: int | None = None) -> Path:
    """Copy ``stream`` to a temp file beside ``target`` while hashing; verify, then rename."""
    algorithm, expected = remote.checksum.split(":", 1)
    digest = hashlib.new(algorithm)
    with atomic_write(target) as tmp:
        written = 0
        try:
            out = open(tmp, "wb")
        except OSError as err:
            raise cache_write_error(target, err) from err
        with out, tqdm(
            total=total or remote.size, unit="B", unit_scale=True, desc=remote.name, leave=False, mininterval=1
        ) as bar:
            for block in iter(lambda: _read(stream, origin), b""):
                digest.update(block)
                try:
                    out.write(block)
                except OSError as err:
                    raise cache_write_error(target, err) from err
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


def _nearest_existing_parent(target: str | Path) -> Path | None:
    """The closest folder above ``target`` that exists (or the file standing where one should be)."""
    return next((p for p in Path(target).absolute().parents if p.exists()), None)


def unwritable_reason(target: str | Path) -> str | None:
    """Why ``target`` (a file or folder to create) cannot be written, or None: its nearest existing
    folder is a file, or not writable. Checked before slow work, so that it fails first."""
    parent = _nearest_existing_parent(target)
    if parent is not None and not parent.is_dir():
        return f"{parent} is a file, so nothing can be made under it at {target}"
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to write in {parent}"
    return None


def cache_write_error(target: Path, err: OSError) -> CacheWriteError:
    """A :class:`CacheWriteError` that says why ``target`` could not be written."""
    blocker = _nearest_existing_parent(target)
    if blocker is not None and not blocker.is_dir():
        hint = f"{blocker} is a file, not a directory"
    elif err.errno == errno.ENOSPC:
        hint = "the disk is full: free some space"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "no permission to write there"
    elif target.is_dir():
        hint = f"{target} is a directory"
    else:
        hint = "check that the directory is writable and has free space"
    configured = os.environ.get("TEXTCLF_DATA_DIR")
    if target.is_relative_to(settings.data_dir()):
        hint += f" (TEXTCLF_DATA_DIR={configured} must name a writable directory)" if configured \
            else " (set TEXTCLF_DATA_DIR to a writable directory to keep the data cache elsewhere)"
    return CacheWriteError(f"cannot write {target} ({err}): {hint}")


@contextmanager
def atomic_write(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` that replaces it only if the block succeeds.

    The file is flushed to disk before the rename and gets the usual permissions (umask). Temporary
    ``.part`` files of ``target`` that a killed process left behind are removed (see
    :func:`_remove_stale_parts`).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(target)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{_writer_tag()}-", suffix=".part", dir=target.parent)
        os.close(handle)
    except OSError as err:
        raise cache_write_error(target, err) from err
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            if tmp.stat().st_size:
                with open(tmp, "rb+") as written:
                    os.fsync(written.fileno())
            tmp.chmod(0o666 & ~_umask())
            tmp.replace(target)
        except OSError as err:
            raise cache_write_error(target, err) from err
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_parts(target: Path) -> None:
    """Delete the ``.part`` files of ``target`` that no running process is writing.

    Another process may be writing the same file right now, so a part is removed only if it is
    certainly abandoned: unchanged for :data:`STALE_PART_SECONDS` (a live writer touches it at
    every block), or named by a writer that ran on this machine and has ended (killed mid-copy,
    e.g. by ``kill -9``: its leftover goes at the next write or successful fetch, not an hour later).
    """
    now = time.time()
    for part in target.parent.glob(f".{glob_escape(target.name)}.*.part"):
        try:
            if part.is_file() and (now - part.stat().st_mtime > STALE_PART_SECONDS or _writer_is_gone(part, target)):
                part.unlink()
        except OSError:
            pass  # another process removed or renamed it meanwhile


#: How a writer signs its ``.part`` files: ``.<name>.pid<pid>-<machine>-<random>.part``.
_WRITER = re.compile(r"pid(\d+)-([0-9a-f]{12})-")


def _machine() -> str:
    """This host and PID namespace, as 12 hex digits: PIDs compare only between processes that
    share both (a cache on a network disk, or shared by containers, is seen by other machines)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # Linux; containers have their own
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:12]


def _writer_tag() -> str:
    return f"pid{os.getpid()}-{_machine()}"


def _writer_is_gone(part: Path, target: Path) -> bool:
    """True if ``part`` names a writer on this machine (host and PID namespace) that no longer runs.

    Unsigned parts (older versions) and other machines' parts wait for the age limit instead. A
    reused PID only keeps a leftover longer. Only on POSIX: there signal 0 merely asks whether the
    process exists (on Windows ``os.kill`` would end it).
    """
    match = _WRITER.match(part.name[len(target.name) + 2:])
    if os.name != "posix" or match is None or match.group(2) != _machine():
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists and belongs to another user
        return False
    return False


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _where_to_put(remote: RemoteFile) -> str:
    mirrors = settings.mirror_dirs()
    looked = ", ".join(str(m) + ("" if m.is_dir() else " (not a directory)") for m in mirrors) \
        if mirrors else "none (TEXTCLF_DATA_MIRROR is not set)"
    return (
        f"{remote.path} is not cached and not in a mirror. {remote.how_to_get} "
        f"Put {remote.path} (or {remote.name}, plain or .gz) in a directory and point "
        f"TEXTCLF_DATA_MIRROR at it: it is checksummed when it is copied into the cache. "
        f"Mirrors searched: {looked}."
    )


def _download(remote: RemoteFile, target: Path) -> Path:
    where = _where_to_put(remote)
    if remote.url is None:
        raise DataUnavailableError(f"{remote.path} cannot be downloaded automatically. {where}")
    try:
        with urllib.request.urlopen(remote.url, timeout=30) as response:
            length = response.headers.get("Content-Length")
            return _store(response, remote, target, origin=remote.url, total=int(length) if length else None)
    except DataError:
        raise
    except urllib.error.HTTPError as err:
        raise DataUnavailableError(f"could not download {remote.url}: the server answered {err.code} {err.reason}. {where}") from err
    except http.client.IncompleteRead as err:
        raise DataError(f"{remote.url}: the transfer was cut short ({err}); try again") from err
    except (ssl.SSLError, ssl.CertificateError) as err:
        raise DataError(f"{remote.url}: secure connection failed ({err}); check the system's certificates") from err
    except http.client.HTTPException as err:
        raise DataError(f"{remote.url}: the transfer failed ({type(err).__name__}: {err}); try again") from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, ssl.SSLError):
            raise DataError(f"{remote.url}: secure connection failed ({err.reason}); check the system's certificates") from err
        raise DataUnavailableError(f"could not download {remote.url} ({err}); offline? {where}") from err
    except (TimeoutError, ConnectionError) as err:
        raise DataUnavailableError(f"could not download {remote.url} ({err}); offline? {where}") from err
