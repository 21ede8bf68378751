"""The data cache never serves a corrupted file: raw files are checksummed on every parse, parsed
tables are tied to their raw file and checked on every read, every write is atomic, and read and
write failures are reported as what they are. Corrupted files are made from copies of the real
mirrored files, in a temporary directory."""

import errno
import gzip
import hashlib
import io
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from textclf import data, files, results, settings, text, training
from textclf.files import CacheWriteError, ChecksumError, DataError, DataUnavailableError, RemoteFile

AG_TEST = "ag_news_csv/test.csv"
REAL_URLOPEN = urllib.request.urlopen
IMDB = "imdb/aclImdb_v1_labeled.tar.gz"


def offline(*args, **kwargs):
    raise urllib.error.URLError("no network in tests")


@pytest.fixture
def env(tmp_path, monkeypatch, mirror):
    """An empty cache and an empty private mirror (fill it with `mirror_copy`); never online."""
    cache, own = tmp_path / "cache", tmp_path / "mirror"
    own.mkdir()
    monkeypatch.setenv("TEXTCLF_DATA_DIR", str(cache))
    monkeypatch.setenv("TEXTCLF_DATA_MIRROR", str(own))
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    monkeypatch.setattr(files.urllib.request, "urlopen", offline)
    return SimpleNamespace(cache=cache, mirror=own, real=mirror)


def mirror_copy(env, relative: str) -> Path:
    """Copy a real mirror file (as stored, e.g. gzipped) into the private mirror."""
    source = next(env.real.glob(relative + "*"))
    target = env.mirror / source.relative_to(env.real)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def flip_byte(path: Path, offset: int | None = None) -> None:
    content = bytearray(path.read_bytes())
    offset = len(content) // 2 if offset is None else offset
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))


def cached_raw_copy(env, relative: str) -> Path:
    """Put a real file, as the cache holds it (decompressed unless it is a .gz itself), into the cache."""
    target = env.cache / "raw" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    source = env.real / relative
    if source.exists():
        shutil.copyfile(source, target)
    else:
        with gzip.open(env.real / (relative + ".gz"), "rb") as stream:
            target.write_bytes(stream.read())
    return target


def parsed_files(env) -> list[str]:
    return sorted(p.name for p in (env.cache / "parsed").glob("*")) if (env.cache / "parsed").exists() else []


# --- raw files: verified whenever read, from the cache as from a mirror ---------------------------


def test_flipped_byte_in_cached_imdb_tarball_is_refused_not_parsed_to_zero_rows(env):
    cached = cached_raw_copy(env, IMDB)
    flip_byte(cached)
    with pytest.raises(ChecksumError, match=r"cached .*aclImdb_v1_labeled.tar.gz: sha256 is .* the file is corrupted"):
        data.load("imdb", "train")
    assert parsed_files(env) == [], "nothing parsed from a corrupted file may be cached"


def test_corrupted_cached_file_is_replaced_from_the_mirror(env):
    cached = cached_raw_copy(env, AG_TEST)
    good = cached.read_bytes()
    flip_byte(cached)
    mirror_copy(env, AG_TEST)
    with pytest.warns(UserWarning, match="replaced by a verified copy"):
        df = data.load("ag_news", "test")
    assert len(df) == 7_600 and cached.read_bytes() == good


def test_truncated_cached_file_is_replaced_from_the_mirror(env):
    cached = cached_raw_copy(env, AG_TEST)
    cached.write_bytes(cached.read_bytes()[:1000])
    mirror_copy(env, AG_TEST)
    with pytest.warns(UserWarning, match="1,000 bytes, expected 1,857,427"):
        assert len(data.load("ag_news", "test")) == 7_600


def test_repairing_the_raw_file_is_enough_after_a_refusal(env):
    cached = cached_raw_copy(env, AG_TEST)
    flip_byte(cached)
    with pytest.raises(ChecksumError, match="No mirror holds a copy"):
        data.load("ag_news", "test")
    cached_raw_copy(env, AG_TEST)  # the user puts a good copy back
    assert len(data.load("ag_news", "test")) == 7_600


def test_corrupted_gz_mirror_file_names_the_file(env):
    flip_byte(mirror_copy(env, AG_TEST))
    with pytest.raises(DataError, match=r"mirror file .*test.csv.gz") as err:
        data.load("ag_news", "test")
    assert not isinstance(err.value, DataUnavailableError)
    assert not (env.cache / "raw" / AG_TEST).exists()


def test_every_registered_file_has_a_checksum_and_ag_news_train_its_md5():
    remotes = [r for info in data.DATASETS.values() for split in info.splits for r in info.files[split]]
    assert remotes and all(r.checksum.split(":")[0] in {"sha256", "md5"} for r in remotes)
    train = data.DATASETS["ag_news"].files["train"][0]
    assert train.checksum == "md5:b1a00f826fdfbd249f79597b59e1dc12"
    assert data.DATASETS["ag_news"].rows["train"] == 120_000 and train.size == 29_470_338


@pytest.mark.parametrize("checksum", ["", "sha256:abc", "crc32:1234", "SHA256:" + "a" * 64, None])
def test_a_file_without_a_proper_checksum_cannot_be_registered(checksum):
    with pytest.raises(ValueError, match="checksum must be"):
        RemoteFile("toy/data.csv", checksum=checksum)


def test_missing_file_message_does_not_suggest_copying_into_the_cache(env):
    with pytest.raises(DataUnavailableError) as err:
        data.load("clothing_reviews", "all")
    message = str(err.value)
    assert "TEXTCLF_DATA_MIRROR" in message and "checksummed" in message
    assert str(env.cache) not in message and "copy it to" not in message


# --- a fake registry entry stands in for AG News train (not in the offline mirror) ----------------


@pytest.fixture
def fake_ag_train(env, monkeypatch):
    """AG News 'train' registered as the first 500 rows of the real test file, by md5 and row count."""
    with gzip.open(env.real / (AG_TEST + ".gz"), "rb") as stream:
        lines = stream.read().splitlines(keepends=True)[:500]
    content = b"".join(lines)
    (env.mirror / "ag_news_csv").mkdir()
    (env.mirror / "ag_news_csv" / "train.csv").write_bytes(content)
    remote = RemoteFile("ag_news_csv/train.csv", checksum="md5:" + hashlib.md5(content).hexdigest())
    info = data.DATASETS["ag_news"]
    fake = data.DatasetInfo(**{**info.__dict__, "files": {**info.files, "train": (remote,)},
                               "rows": {**info.rows, "train": 500}})
    monkeypatch.setitem(data.DATASETS, "ag_news", fake)
    return SimpleNamespace(content=content, remote=remote, info=fake)


def test_registered_md5_and_row_count_accept_the_right_file(fake_ag_train):
    df = data.load("ag_news", "train")
    assert len(df) == 500 and df.attrs["source"]["checksum"] == fake_ag_train.remote.checksum


def test_a_file_with_another_md5_is_refused(fake_ag_train, env):
    (env.mirror / "ag_news_csv" / "train.csv").write_bytes(fake_ag_train.content[:-200])
    with pytest.raises(ChecksumError, match="md5 is .* expected"):
        data.load("ag_news", "train")
    assert parsed_files(env) == []


def test_a_parsed_row_count_other_than_the_registered_one_is_refused(fake_ag_train, env, monkeypatch):
    info = data.DATASETS["ag_news"]
    monkeypatch.setitem(data.DATASETS, "ag_news", data.DatasetInfo(**{**info.__dict__, "rows": {**info.rows, "train": 501}}))
    with pytest.raises(DataError, match="500 rows, expected 501"):
        data.load("ag_news", "train")
    assert parsed_files(env) == []


def test_a_parser_error_names_the_file(fake_ag_train, env, monkeypatch):
    bad = fake_ag_train.content.replace(b"Reuters", b"Reuters\xff", 1)
    (env.mirror / "ag_news_csv" / "train.csv").write_bytes(bad)
    remote = RemoteFile("ag_news_csv/train.csv", checksum="md5:" + hashlib.md5(bad).hexdigest())
    info = data.DATASETS["ag_news"]
    monkeypatch.setitem(data.DATASETS, "ag_news", data.DatasetInfo(**{**info.__dict__, "files": {**info.files, "train": (remote,)}}))
    with pytest.raises(DataError, match=r"cannot parse .*train.csv as ag_news train \(UnicodeDecodeError"):
        data.load("ag_news", "train")


# --- parsed tables: tied to their raw file, checked on every read, rebuilt when bad ---------------


@pytest.fixture
def parsed(env):
    """A good parsed cache of AG News test, and its path."""
    mirror_copy(env, AG_TEST)
    good = data.load("ag_news", "test")
    (path,) = (env.cache / "parsed").glob("ag_news-test-*.parquet")
    return SimpleNamespace(path=path, good=good)


def rewrite(path: Path, change) -> None:
    df = pd.read_parquet(path)
    changed = change(df)
    df = df if changed is None else changed
    df.to_parquet(path, index=False)


def assert_rebuilt(parsed, reason: str):
    with pytest.warns(UserWarning, match=reason):
        df = data.load("ag_news", "test")
    pd.testing.assert_frame_equal(df, parsed.good)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load("ag_news", "test")  # the rebuilt cache is good again


def test_parsed_cache_records_raw_checksum_and_parser_version(parsed):
    source = pd.read_parquet(parsed.path).attrs["source"]
    assert source == {"dataset": "ag_news", "split": "test", "file": AG_TEST,
                      "checksum": data.AG_NEWS_FILES["test"].checksum, "parser_version": data.PARSER_VERSION}
    assert f"-v{data.PARSER_VERSION}" in parsed.path.name


def test_parsed_cache_from_another_raw_file_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.attrs.update(source={**df.attrs["source"], "checksum": "sha256:" + "0" * 64}))
    assert_rebuilt(parsed, "not a registered one")


def test_parsed_cache_of_another_split_of_the_same_raw_file_is_not_served(parsed, env, monkeypatch):
    # IMDb's train and test come from one tarball and have 25,000 rows each: only the recorded
    # split tells a renamed or swapped file apart. Here AG News 'train' is registered like 'test'.
    info = data.DATASETS["ag_news"]
    monkeypatch.setitem(data.DATASETS, "ag_news", data.DatasetInfo(**{
        **info.__dict__, "files": {**info.files, "train": info.files["test"]}, "rows": {**info.rows, "train": 7_600}}))
    shutil.copyfile(parsed.path, parsed.path.with_name(parsed.path.name.replace("-test-", "-train-")))
    with pytest.warns(UserWarning, match="it holds ag_news test, not ag_news train"):
        assert data.load("ag_news", "train").attrs["source"]["split"] == "train"


def test_parsed_cache_of_another_parser_version_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.attrs.update(source={**df.attrs["source"], "parser_version": 1}))
    assert_rebuilt(parsed, "parser version")


def test_parsed_cache_without_provenance_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.attrs.clear())
    assert_rebuilt(parsed, "parser version")


def test_parsed_cache_with_a_flipped_byte_is_rebuilt(parsed):
    flip_byte(parsed.path)
    assert_rebuilt(parsed, "cannot be read")


def test_truncated_or_empty_parsed_cache_is_rebuilt(parsed):
    parsed.path.write_bytes(parsed.path.read_bytes()[:5000])
    assert_rebuilt(parsed, "cannot be read")
    parsed.path.write_bytes(b"")
    assert_rebuilt(parsed, "cannot be read")


def test_parsed_cache_with_no_rows_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.iloc[:0])
    assert_rebuilt(parsed, "0 rows, expected 7,600")


def test_parsed_cache_with_missing_rows_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.iloc[:-1])
    assert_rebuilt(parsed, "7,599 rows, expected 7,600")


def test_parsed_cache_with_wrong_columns_or_dtypes_is_rebuilt(parsed):
    rewrite(parsed.path, lambda df: df.drop(columns="title"))
    assert_rebuilt(parsed, "columns")
    rewrite(parsed.path, lambda df: df.assign(label=df.label.astype(str)))
    assert_rebuilt(parsed, "column 'label' has dtype")
    rewrite(parsed.path, lambda df: df.assign(label=df.label + 10))
    assert_rebuilt(parsed, "labels outside 0..3")


def test_bad_parsed_cache_without_raw_file_is_refused_saying_both(parsed, env):
    rewrite(parsed.path, lambda df: df.iloc[:10])
    (env.cache / "raw" / AG_TEST).unlink()
    for gz in env.mirror.rglob("*.gz"):
        gz.unlink()
    with pytest.raises(DataUnavailableError, match=r"not in a mirror.*parsed cache .* was not used either: 10 rows"):
        data.load("ag_news", "test")


# --- writes are atomic; leftovers of a killed process are cleaned up -------------------------------


def test_stale_part_files_are_removed_and_fresh_ones_kept(tmp_path):
    target = tmp_path / "table[1].parquet"
    stale, fresh = tmp_path / ".table[1].parquet.abc.part", tmp_path / ".table[1].parquet.def.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = time.time() - files.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    with files.atomic_write(target) as tmp:
        tmp.write_text("done")
    assert target.read_text() == "done" and not stale.exists() and fresh.exists()


def test_atomic_write_keeps_the_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_atomic_write_gives_readable_permissions(tmp_path):
    with files.atomic_write(tmp_path / "x.json") as tmp:
        tmp.write_text("{}")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_vocab_save_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    text.build_vocab([["old"]]).save(path)
    before = path.read_text()

    def half_then_fail(self, content, encoding=None):
        with open(self, "w", encoding=encoding) as out:
            out.write(content[: len(content) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError):
        text.build_vocab([["new", "words"]]).save(path)
    monkeypatch.undo()
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["vocab.json"]


@pytest.mark.parametrize("stem", ["../99_t", "/tmp/99_t", "sub/99_t", "..", ".", "", ".hidden", "a\\b", "99_t.json"])
def test_results_save_takes_only_a_plain_stem(stem, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "results_dir", lambda: tmp_path / "results")
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    training.setup(seed=0)
    with pytest.raises(ValueError, match="plain notebook name"):
        results.save(stem, {"accuracy": 0.5})
    assert not any(tmp_path.rglob("*.json"))


# --- read and write failures are reported as what they are -----------------------------------------


def toy_remote(content: bytes, **overrides) -> RemoteFile:
    return RemoteFile(**{"path": "toy/data.csv", "checksum": "sha256:" + hashlib.sha256(content).hexdigest(), **overrides})


CONTENT = b"label,text\n1,hello\n" * 50


def test_unreadable_mirror_file_is_reported_as_unreadable(env, monkeypatch):
    (env.mirror / "data.csv").write_bytes(CONTENT)
    real_open = open

    def guarded(path, *args, **kwargs):
        if str(path).startswith(str(env.mirror)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(files, "open", guarded, raising=False)
    with pytest.raises(DataError, match=r"cannot read mirror file .*data.csv \(.*Permission denied") as err:
        files.fetch(toy_remote(CONTENT))
    assert "corrupted" not in str(err.value)


def test_data_dir_that_is_a_file_is_reported_as_such(env, tmp_path, monkeypatch):
    (env.mirror / "data.csv").write_bytes(CONTENT)
    not_a_dir = tmp_path / "a_file"
    not_a_dir.write_text("")
    monkeypatch.setenv("TEXTCLF_DATA_DIR", str(not_a_dir))
    with pytest.raises(CacheWriteError, match=r"a_file is a file, not a directory \(TEXTCLF_DATA_DIR="):
        files.fetch(toy_remote(CONTENT))


def test_unwritable_cache_is_reported_as_such(env, monkeypatch):
    (env.mirror / "data.csv").write_bytes(CONTENT)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    with pytest.raises(CacheWriteError, match="no permission to write there"):
        files.fetch(toy_remote(CONTENT))


def test_full_disk_is_reported_as_such(env, monkeypatch):
    (env.mirror / "data.csv").write_bytes(CONTENT)
    real_open = open

    class FullDisk(io.BufferedWriter):
        def write(self, block):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full(path, mode="r", *args, **kwargs):
        if "w" in mode:
            return FullDisk(io.FileIO(path, "w"))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(files, "open", full, raising=False)
    with pytest.raises(CacheWriteError, match="the disk is full") as err:
        files.fetch(toy_remote(CONTENT))
    assert "mirror" not in str(err.value)
    assert not list((env.cache / "raw" / "toy").iterdir())


def test_ssl_failure_names_the_url(env, monkeypatch):
    def ssl_fails(*args, **kwargs):
        raise urllib.error.URLError(ssl.SSLCertVerificationError("certificate verify failed"))

    monkeypatch.setattr(files.urllib.request, "urlopen", ssl_fails)
    with pytest.raises(DataError, match=r"https://example.org/data.csv: secure connection failed"):
        files.fetch(toy_remote(CONTENT, url="https://example.org/data.csv"))


def test_ssl_error_mid_transfer_names_the_url(env, monkeypatch):
    class Breaks(io.BytesIO):
        headers = {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size=-1):
            raise ssl.SSLError("decryption failed")

    monkeypatch.setattr(files.urllib.request, "urlopen", lambda *a, **k: Breaks())
    with pytest.raises(DataError, match=r"https://example.org/data.csv: the transfer failed \(SSLError"):
        files.fetch(toy_remote(CONTENT, url="https://example.org/data.csv"))


def test_http_error_says_what_the_server_answered(env, monkeypatch):
    def not_found(url, timeout):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(files.urllib.request, "urlopen", not_found)
    with pytest.raises(DataUnavailableError, match="the server answered 404 Not Found"):
        files.fetch(toy_remote(CONTENT, url="https://example.org/data.csv"))


def test_bad_vocab_file_names_the_file(tmp_path):
    for content in (b"[\"<pad>\", \"<unk>\"", b"\xff\xfe", b"{\"a\": 1}", b"[\"a\", \"b\"]"):
        (tmp_path / "vocab.json").write_bytes(content)
        with pytest.raises(DataError, match="vocab.json"):
            text.Vocab.load(tmp_path / "vocab.json")


def test_bad_results_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "results_dir", lambda: tmp_path)
    for content in ("{\"run\": ", "[]", "{\"metrics\": {}}"):
        (tmp_path / "99_demo.json").write_text(content)
        with pytest.raises(DataError, match="99_demo.json"):
            results.load("99_demo")


def test_a_bad_mirror_copy_is_skipped_for_a_good_one(env):
    (env.mirror / "toy").mkdir()
    (env.mirror / "toy" / "data.csv").write_bytes(CONTENT[:-1] + b"X")
    (env.mirror / "data.csv.gz").write_bytes(gzip.compress(CONTENT))
    with pytest.warns(UserWarning, match=r"toy/data.csv: sha256 is .*; used .*data.csv.gz instead"):
        assert files.fetch(toy_remote(CONTENT)).read_bytes() == CONTENT


def test_a_mirror_that_is_not_a_directory_is_pointed_out(env, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLF_DATA_MIRROR", str(tmp_path / "no-such-dir"))
    with pytest.raises(DataUnavailableError, match="no-such-dir \\(not a directory\\)"):
        files.fetch(toy_remote(CONTENT))


def test_an_unwritable_parsed_cache_warns_and_still_returns_the_table(env, monkeypatch):
    mirror_copy(env, AG_TEST)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.warns(UserWarning, match="not cached.*the disk is full"):
        assert len(data.load("ag_news", "test")) == 7_600
    assert parsed_files(env) == []


def test_saving_a_vocabulary_onto_a_directory_says_so_without_blaming_the_cache(tmp_path):
    (tmp_path / "vocab.json").mkdir()
    with pytest.raises(CacheWriteError, match="vocab.json is a directory") as err:
        text.build_vocab([["a"]]).save(tmp_path / "vocab.json")
    assert "TEXTCLF_DATA_DIR" not in str(err.value)


def test_corrupted_cached_file_is_replaced_by_a_download_when_no_mirror_has_it(env, tmp_path, monkeypatch):
    monkeypatch.setattr(files.urllib.request, "urlopen", REAL_URLOPEN)
    served = tmp_path / "served.csv"
    served.write_bytes(CONTENT)
    cached = env.cache / "raw" / "toy" / "data.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(CONTENT.replace(b"hello", b"HELLO"))
    with pytest.warns(UserWarning, match="replaced by a verified download"):
        assert files.fetch(toy_remote(CONTENT, url=served.as_uri())).read_bytes() == CONTENT


def test_corrupted_cached_file_that_cannot_be_downloaded_says_both(env):
    cached = env.cache / "raw" / "toy" / "data.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(CONTENT[:-1] + b"!")
    with pytest.raises(ChecksumError, match=r"the file is corrupted\. No mirror holds a copy to replace it \(downloading one failed: could not download"):
        files.fetch(toy_remote(CONTENT, url="https://example.org/data.csv"))


def test_parsed_tables_of_older_parser_versions_are_removed(env):
    mirror_copy(env, AG_TEST)
    old = env.cache / "parsed" / "ag_news-test-v1.parquet"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an old parser's table")
    data.load("ag_news", "test")
    assert parsed_files(env) == [f"ag_news-test-v{data.PARSER_VERSION}.parquet"]
