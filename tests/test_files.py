import gzip
import hashlib
import io
import os
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

from textclf import files
from textclf.files import ChecksumError, DataError, DataUnavailableError, RemoteFile, fetch, locate

CONTENT = b"label,text\n1,hello world\n" * 100


def remote(**overrides) -> RemoteFile:
    fields = dict(path="toy/data.csv", checksum="sha256:" + hashlib.sha256(CONTENT).hexdigest(), size=len(CONTENT))
    return RemoteFile(**{**fields, **overrides})


def cached_files(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())


def test_fetch_plain_mirror_file_then_from_cache(empty_env, tmp_path):
    (empty_env / "toy").mkdir()
    (empty_env / "toy" / "data.csv").write_bytes(CONTENT)
    path = fetch(remote())
    assert path.read_bytes() == CONTENT
    (empty_env / "toy" / "data.csv").unlink()
    assert fetch(remote()) == path  # second time from the cache, mirror not needed


def test_fetch_gz_mirror_file_is_decompressed_and_verified(empty_env):
    (empty_env / "data.csv.gz").write_bytes(gzip.compress(CONTENT))  # flat layout, compressed
    assert fetch(remote()).read_bytes() == CONTENT


def test_md5_checksums_are_accepted(empty_env):
    (empty_env / "data.csv").write_bytes(CONTENT)
    assert fetch(remote(checksum="md5:" + hashlib.md5(CONTENT).hexdigest(), size=None)).exists()


def test_checksum_mismatch_raises_and_leaves_nothing(empty_env, tmp_path):
    (empty_env / "data.csv").write_bytes(CONTENT.replace(b"hello", b"HELLO"))
    with pytest.raises(ChecksumError, match="sha256 is .* expected"):
        fetch(remote())
    assert cached_files(tmp_path) == []


def test_truncated_mirror_file_is_rejected(empty_env, tmp_path):
    (empty_env / "data.csv").write_bytes(CONTENT[:100])
    with pytest.raises(DataError, match="truncated"):
        fetch(remote())
    assert cached_files(tmp_path) == []


def test_truncated_gz_is_reported_as_corrupted(empty_env, tmp_path):
    (empty_env / "data.csv.gz").write_bytes(gzip.compress(CONTENT)[:40])
    with pytest.raises(DataError, match="corrupted or truncated"):
        fetch(remote())
    assert cached_files(tmp_path) == []


def test_truncated_cache_file_is_reported(empty_env, tmp_path):
    target = tmp_path / "cache" / "raw" / "toy" / "data.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(CONTENT[:10])
    with pytest.raises(DataError, match="delete it"):
        fetch(remote())


def test_offline_without_mirror_names_what_is_missing(empty_env):
    with pytest.raises(DataUnavailableError, match="toy/data.csv.*TEXTCLF_DATA_MIRROR") as err:
        fetch(remote(how_to_get="Ask the librarian."))
    assert "Ask the librarian." in str(err.value)


def test_download_from_url(empty_env, tmp_path):
    source = tmp_path / "served.csv"
    source.write_bytes(CONTENT)
    assert fetch(remote(url=source.as_uri())).read_bytes() == CONTENT


def test_download_with_wrong_checksum_leaves_nothing(empty_env, tmp_path):
    source = tmp_path / "served.csv"
    source.write_bytes(CONTENT.upper())
    with pytest.raises(ChecksumError):
        fetch(remote(url=source.as_uri()))
    assert cached_files(tmp_path) == []


class CutShortResponse(io.BytesIO):
    """An HTTP response that promises more bytes than it delivers."""

    headers = {"Content-Length": str(len(CONTENT))}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_partial_download_is_detected_and_removed(empty_env, tmp_path, monkeypatch):
    monkeypatch.setattr(files.urllib.request, "urlopen", lambda url, timeout: CutShortResponse(CONTENT[:500]))
    with pytest.raises(DataError, match="cut short"):
        fetch(remote(url="https://example.org/data.csv"))
    assert cached_files(tmp_path) == []


def test_unreachable_url_says_offline(empty_env):
    with pytest.raises(DataUnavailableError, match="offline"):
        fetch(remote(url="http://127.0.0.1:9/data.csv"))


def test_locate_prefers_a_local_alternative(empty_env, monkeypatch):
    (empty_env / "other.csv").write_bytes(CONTENT)
    monkeypatch.setattr(files.urllib.request, "urlopen", lambda *a, **k: pytest.fail("must not download"))
    online = remote(url="https://example.org/data.csv")
    local = remote(path="toy/other.csv")
    path, chosen = locate([online, local])
    assert path.name == "other.csv" and chosen == local


def test_locate_downloads_the_first_when_none_is_local(empty_env, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(files.urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="could not download https://example.org/data.csv"):
        locate([remote(url="https://example.org/data.csv"), remote(path="toy/other.csv")])


# --- leftovers of a copy killed mid-way (kill -9) are gone after the next successful fetch -------


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def leftover(tmp_path, tag: str, age: float = 0.0):
    """A half-written ``.part`` file beside the cached target, as a killed copy leaves it."""
    folder = tmp_path / "cache" / "raw" / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".data.csv.{tag}.part"
    part.write_bytes(CONTENT[:100])
    if age:
        then = time.time() - age
        os.utime(part, (then, then))
    return part


@pytest.mark.skipif(os.name != "posix", reason="writers are told apart by PID only on POSIX")
def test_a_killed_copys_part_file_goes_at_the_next_successful_fetch(empty_env, tmp_path):
    (empty_env / "data.csv").write_bytes(CONTENT)
    killed = leftover(tmp_path, f"pid{dead_pid()}-{files._machine()}-abc123")  # just now, writer gone
    fetch(remote())  # copied from the mirror
    assert not killed.exists() and cached_files(tmp_path) == ["data.csv"]
    killed = leftover(tmp_path, f"pid{dead_pid()}-{files._machine()}-def456")
    fetch(remote())  # already cached: verified, and the leftover cleaned up too
    assert not killed.exists() and cached_files(tmp_path) == ["data.csv"]


def test_a_live_writers_part_file_is_kept_until_it_is_stale(empty_env, tmp_path):
    (empty_env / "data.csv").write_bytes(CONTENT)
    alive = leftover(tmp_path, f"pid{os.getppid()}-{files._machine()}-abc123")  # a running process
    elsewhere = leftover(tmp_path, f"pid{dead_pid()}-{'0' * 12}-def456")  # another machine's writer
    unsigned = leftover(tmp_path, "ghi789")  # an older textclf's part: no writer named
    old = leftover(tmp_path, "jkl012", age=files.STALE_PART_SECONDS + 60)
    fetch(remote())
    assert alive.exists() and elsewhere.exists() and unsigned.exists() and not old.exists()
    for part in (alive, elsewhere, unsigned):
        then = time.time() - files.STALE_PART_SECONDS - 60
        os.utime(part, (then, then))
    fetch(remote())
    assert cached_files(tmp_path) == ["data.csv"]


def test_parts_are_signed_by_their_writer(tmp_path):
    seen = []
    with files.atomic_write(tmp_path / "x.json") as tmp:
        seen.append(tmp.name)
        tmp.write_text("{}")
    assert seen[0].startswith(f".x.json.pid{os.getpid()}-{files._machine()}-") and seen[0].endswith(".part")


@pytest.mark.skipif(os.name != "posix", reason="kill -9 and PID checks are POSIX")
def test_a_copy_really_killed_with_sigkill_leaves_nothing_after_the_next_fetch(empty_env, tmp_path):
    target = tmp_path / "cache" / "raw" / "toy" / "data.csv"
    script = ("import os, signal, sys\nfrom textclf import files\n"
              "with files.atomic_write(sys.argv[1]) as tmp:\n"
              "    tmp.write_bytes(b'half a file')\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", script, str(target)])
    assert killed.returncode == -9 and len(list(target.parent.glob(".data.csv.*.part"))) == 1
    (empty_env / "data.csv").write_bytes(CONTENT)
    assert fetch(remote()).read_bytes() == CONTENT
    assert cached_files(tmp_path) == ["data.csv"]


def test_unwritable_reason_finds_a_file_in_the_way(tmp_path):
    from textclf.files import unwritable_reason

    assert unwritable_reason(tmp_path / "new" / "deeper" / "out.csv") is None  # folders that atomic_write makes
    (tmp_path / "plain").write_text("x")
    assert unwritable_reason(tmp_path / "plain" / "out.csv") == (
        f"{tmp_path / 'plain'} is a file, so nothing can be made under it at {tmp_path / 'plain' / 'out.csv'}")


def test_unwritable_reason_names_a_folder_without_write_permission(tmp_path, monkeypatch):
    # The tests may run as root, for whom os.access always says yes: stand in for a read-only folder.
    locked = tmp_path / "locked"
    locked.mkdir()
    asked = []

    def access(path, mode):
        asked.append((Path(path), mode))
        return Path(path) != locked

    monkeypatch.setattr(files.os, "access", access)
    assert files.unwritable_reason(locked / "new" / "out.csv") == f"no permission to write in {locked}"
    assert asked == [(locked, os.W_OK | os.X_OK)]  # asked of the nearest folder that exists
    assert files.unwritable_reason(tmp_path / "out.csv") is None
