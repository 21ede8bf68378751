import gzip
import hashlib
import io
import urllib.error

import pytest

from textclf import files
from textclf.files import ChecksumError, DataError, DataUnavailableError, RemoteFile, fetch, fetch_first

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


def test_fetch_first_prefers_a_local_alternative(empty_env, monkeypatch):
    (empty_env / "other.csv").write_bytes(CONTENT)
    monkeypatch.setattr(files.urllib.request, "urlopen", lambda *a, **k: pytest.fail("must not download"))
    online = remote(url="https://example.org/data.csv")
    local = remote(path="toy/other.csv")
    assert fetch_first([online, local]).name == "other.csv"


def test_fetch_first_downloads_the_first_when_none_is_local(empty_env, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(files.urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="could not download https://example.org/data.csv"):
        fetch_first([remote(url="https://example.org/data.csv"), remote(path="toy/other.csv")])
