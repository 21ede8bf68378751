"""TextClassifier: fit/predict on tiny separable data, save/load, and every bad input."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from textclf import classifier
from textclf.classifier import ModelFileError, TextClassifier, validation_split
from textclf.files import file_checksum

GOOD = ["good great fine film", "a great and fine plot", "good acting, great fun", "fine good great"]
BAD = ["bad awful poor film", "an awful and poor plot", "bad acting, awful mess", "poor bad awful"]
OTHER = ["table chair lamp", "a lamp and a chair", "chair, table, sofa", "sofa lamp table"]
TINY = dict(hidden_dim=8, glove=False, min_freq=1, batch_size=8, lr=1e-2, epochs=6, verbose=False)


def tiny_data(*groups, repeat=8):
    texts = [t for group in groups for t in group[1]] * repeat
    labels = [name for group in groups for name in [group[0]] * len(group[1])] * repeat
    return texts, labels


@pytest.fixture(autouse=True)
def full_mode(monkeypatch):
    """These tests set their own small sizes; TEXTCLF_QUICK would cap the epochs they need."""
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)


@pytest.fixture(scope="module")
def fitted():
    texts, labels = tiny_data(("pos", GOOD), ("neg", BAD))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TEXTCLF_QUICK", raising=False)
        return TextClassifier(**TINY).fit(texts, labels), texts, labels


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    directory = tmp_path_factory.mktemp("models") / "sentiment"
    fitted[0].save(directory)
    return directory


def test_fit_predict_score_with_string_labels(fitted):
    clf, texts, labels = fitted
    assert clf.classes_.tolist() == ["neg", "pos"]
    assert clf.score(texts, labels) >= 0.9
    assert clf.predict(["good great fine", "poor awful bad"]).tolist() == ["pos", "neg"]
    p = clf.predict_proba(texts[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert clf.history_.best_epoch is not None and clf.get_params()["hidden_dim"] == 8


def test_int_labels_stay_ints_and_three_classes():
    texts, labels = tiny_data((7, GOOD), (3, BAD), (5, OTHER))
    clf = TextClassifier(**TINY).fit(texts, labels)
    assert clf.classes_.tolist() == [3, 5, 7]
    predicted = clf.predict(["good great fine", "table lamp chair"])
    assert all(isinstance(y, (int, np.integer)) for y in predicted)
    assert clf.predict_proba(texts).shape == (len(texts), 3)
    assert clf.score(texts, labels) >= 0.8
    with pytest.raises(TypeError, match="model's classes are int"):
        clf.score(texts, [str(y) for y in labels])


def test_score_names_labels_the_model_never_saw(fitted):
    clf, texts, labels = fitted
    with pytest.raises(ValueError, match=r"none of the labels is a class the model knows \('negative', 'positive'\); its classes are \['neg', 'pos'\]"):
        clf.score(texts, ["positive" if y == "pos" else "negative" for y in labels])
    renamed = ["neutral"] + labels[1:]  # one row of a class that training never had
    with pytest.warns(UserWarning, match=r"1 of \d+ labels are classes the model never saw \('neutral'\); they count as wrong"):
        partly = clf.score(texts, renamed)
    predicted = clf.predict(texts)
    assert partly == pytest.approx(np.mean([p == y for p, y in zip(predicted, renamed)]))


def test_empty_and_100k_token_texts_are_predicted(fitted):
    clf = fitted[0]
    long_text = " ".join(["good", "bad", "film"] * 33_334)  # 100,002 tokens
    p = clf.predict_proba(["", "   ", '""', long_text])
    assert p.shape == (4, 2) and np.isfinite(p).all()
    assert clf.predict_proba([]).shape == (0, 2)


def test_predict_refuses_what_is_not_a_list_of_texts(fitted):
    clf = fitted[0]
    with pytest.raises(TypeError, match="single str"):
        clf.predict("good film")
    with pytest.raises(TypeError, match="position 1"):
        clf.predict(["good", None])
    with pytest.raises(RuntimeError, match="not trained"):
        TextClassifier().predict(["good"])
    frame = __import__("pandas").DataFrame({"review": ["good film", "awful"]})
    with pytest.raises(TypeError, match=r"a DataFrame with the columns \['review'\]; pass df\[column\]"):
        clf.predict(frame)


def test_bad_training_input_is_named(capsys):
    texts, labels = tiny_data(("pos", GOOD), ("neg", BAD), repeat=2)
    with pytest.raises(TypeError, match="mix numbers and strings"):
        TextClassifier(**TINY).fit(texts, labels[:-1] + [1])
    with pytest.raises(ValueError, match="at least two"):
        TextClassifier(**TINY).fit(texts, ["pos"] * len(texts))
    with pytest.raises(ValueError, match=r"'rare' \(1 example\)"):
        TextClassifier(**TINY).fit(texts + ["odd one"], labels + ["rare"])
    with pytest.raises(ValueError, match="empty, blank or missing"):
        TextClassifier(**TINY).fit(["", " ", None], ["a", "b", "a"])
    with pytest.raises(ValueError, match="one label per text"):
        TextClassifier(**TINY).fit(texts, labels[:-1])
    with pytest.raises(TypeError, match="float"):
        TextClassifier(**TINY).fit(texts, [1.5] * len(texts))
    with pytest.raises(ValueError, match="missing"):
        TextClassifier(**TINY).fit(texts, labels[:-1] + [None])
    with pytest.raises(ValueError, match=r"validation labels hold class\(es\) the training labels do not: \['new'\]"):
        TextClassifier(**TINY).fit(texts, labels, validation=(["a new one"] * 2, ["new", "pos"]))
    capsys.readouterr()
    TextClassifier(**{**TINY, "epochs": 1}).fit(texts, labels)  # verbose=False: nothing, not even progress bars
    assert capsys.readouterr() == ("", "")
    clf = TextClassifier(**{**TINY, "verbose": True, "epochs": 1})
    clf.fit(texts + ["", None], labels + ["pos", "neg"])
    assert "dropped 2 texts" in capsys.readouterr().out


def test_hyper_parameters_are_checked():
    with pytest.raises(ValueError, match="hidden_dim"):
        TextClassifier(hidden_dim=0)
    with pytest.raises(ValueError, match="embed_dim must be 50"):
        TextClassifier(embed_dim=8)
    with pytest.raises(ValueError, match="valid_fraction"):
        TextClassifier(valid_fraction=0.9)
    with pytest.raises(TypeError, match="quick"):
        TextClassifier(quick="yes")


def test_validation_split_is_stratified_and_fixed():
    labels = ["a"] * 30 + ["b"] * 10
    train, valid = validation_split(labels, 0.1, seed=0)
    assert len(valid) == 4 and sorted(labels[i] for i in valid) == ["a", "a", "a", "b"]
    assert set(train) | set(valid) == set(range(40))
    assert (validation_split(labels, 0.1, seed=0)[1] == valid).all()


def test_quick_caps_the_epochs():
    texts, labels = tiny_data(("pos", GOOD), ("neg", BAD))
    clf = TextClassifier(**{**TINY, "epochs": 5, "patience": None, "quick": True}).fit(texts, labels)
    assert len(clf.history_.epochs) == 2


def test_explain_gives_words_of_the_text(fitted):
    explanation = fitted[0].explain("good great film", words=3, samples=50)
    assert explanation.label in ("pos", "neg") and 0 < explanation.probability <= 1
    assert {w for w, _ in explanation.words} <= {"good", "great", "film"}
    assert "weight" in explanation.table()
    for no_words in ("  ", "...", "\U0001f600"):
        with pytest.raises(ValueError, match="has no words"):
            fitted[0].explain(no_words)


# ------------------------------------------------------------------------------------- save and load

def test_save_load_round_trip(fitted, saved):
    clf, texts, _ = fitted
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "manifest.json", "vocab.json", "weights.pt"]
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == 1 and config["classes"] == ["neg", "pos"]
    assert config["model"]["tokenizer"] == "basic_english" and config["textclf_version"]
    again = TextClassifier.load(saved)
    assert np.array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    assert again.classes_.tolist() == ["neg", "pos"] and again.hidden_dim == 8
    assert again.history_.best_epoch == clf.history_.best_epoch


def test_fresh_process_gives_bit_identical_probabilities(fitted, saved, tmp_path):
    clf, texts, _ = fitted
    code = textwrap.dedent(f"""
        import json, numpy as np
        from textclf.classifier import TextClassifier
        texts = json.loads({json.dumps(json.dumps(texts))})
        np.save({str(tmp_path / 'p.npy')!r}, TextClassifier.load({str(saved)!r}).predict_proba(texts))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert np.load(tmp_path / "p.npy").tobytes() == clf.predict_proba(texts).tobytes()


def copy_model(saved, tmp_path):
    import shutil

    return shutil.copytree(saved, tmp_path / "copy")


def rewrite(directory, name, data: bytes):
    """Change a file of a saved model and make the manifest agree, to reach the later checks."""
    (directory / name).write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["sha256"][name] = file_checksum(directory / name)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_load_refuses_missing_partial_and_changed_models(saved, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        TextClassifier.load(tmp_path / "nothing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="is a file"):
        TextClassifier.load(tmp_path / "file")
    model = copy_model(saved, tmp_path)
    config = (model / "config.json").read_bytes()
    (model / "config.json").write_bytes(config.replace(b'"neg"', b'"NEG"'))
    with pytest.raises(ModelFileError, match="config.json does not match its checksum"):
        TextClassifier.load(model)
    (model / "config.json").write_bytes(config)
    (model / "weights.pt").unlink()
    with pytest.raises(ModelFileError, match="weights.pt is missing"):
        TextClassifier.load(model)
    (model / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match="no manifest.json.*interrupted"):
        TextClassifier.load(model)


def test_load_refuses_newer_formats_bad_json_and_misfitting_weights(saved, tmp_path):
    model = copy_model(saved, tmp_path)
    config = json.loads((model / "config.json").read_text())
    rewrite(model, "config.json", json.dumps({**config, "format_version": 2}).encode())
    with pytest.raises(ModelFileError, match="format 2, newer than the 1"):
        TextClassifier.load(model)
    rewrite(model, "config.json", b"{not json")
    with pytest.raises(ModelFileError, match="config.json is not"):
        TextClassifier.load(model)
    rewrite(model, "config.json", json.dumps(config).encode())
    state = torch.load(model / "weights.pt", weights_only=True)
    state["embedding.weight"] = state["embedding.weight"][:-1]
    torch.save(state, model / "weights.pt")
    rewrite(model, "weights.pt", (model / "weights.pt").read_bytes())
    with pytest.raises(ModelFileError, match=r"weights.pt does not fit.*embedding.weight has shape"):
        TextClassifier.load(model)
    rewrite(model, "weights.pt", b"not a torch file")
    with pytest.raises(ModelFileError, match="weights.pt is not a state dict"):
        TextClassifier.load(model)
    rewrite(model, "weights.pt", (saved / "weights.pt").read_bytes())
    for change, message in [({"tokenizer": "foo"}, "unknown tokenizer 'foo'"), ({"max_length": 0}, "max_length")]:
        rewrite(model, "config.json", json.dumps({**config, "model": {**config["model"], **change}}).encode())
        with pytest.raises(ModelFileError, match=f"describes no model this code can build: .*{message}"):
            TextClassifier.load(model)
    rewrite(model, "config.json", json.dumps(config).encode())
    rewrite(model, "vocab.json", json.dumps(["<pad>", "<unk>", "good"]).encode())
    with pytest.raises(ModelFileError, match="vocab.json holds 3 tokens"):
        TextClassifier.load(model)


def test_save_refuses_to_replace_without_overwrite(fitted, saved, tmp_path):
    clf = fitted[0]
    with pytest.raises(ModelFileError, match="already holds a saved model"):
        clf.save(saved)
    model = copy_model(saved, tmp_path)
    before = (model / "weights.pt").stat().st_ino
    clf.save(model, overwrite=True)
    assert (model / "weights.pt").stat().st_ino != before and TextClassifier.load(model)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ModelFileError, match="something other than a saved model"):
        clf.save(tmp_path / "notes", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="is a file"):
        clf.save(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    clf.save(tmp_path / "empty")
    assert (tmp_path / "empty" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "empty", "file", "notes"]  # no temp folders


def test_a_crash_mid_save_leaves_nothing_behind(fitted, saved, tmp_path, monkeypatch):
    clf = fitted[0]
    real_write = classifier._write

    def crash_at_weights(path, data):
        if path.name == "weights.pt":
            raise OSError("disk full (simulated)")
        real_write(path, data)

    monkeypatch.setattr(classifier, "_write", crash_at_weights)
    with pytest.raises(OSError, match="simulated"):
        clf.save(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []
    model = copy_model(saved, tmp_path)
    with pytest.raises(OSError, match="simulated"):
        clf.save(model, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]
    assert TextClassifier.load(model)  # the old model is untouched
    monkeypatch.setattr(classifier, "_write", real_write)
    real_replace, calls = classifier.os.replace, []

    def interrupt_second_rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the old model is aside, the new one not yet in place: Ctrl-C
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(classifier.os, "replace", interrupt_second_rename)
    with pytest.raises(KeyboardInterrupt):
        clf.save(model, overwrite=True)
    monkeypatch.setattr(classifier.os, "replace", real_replace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"] and TextClassifier.load(model)


def test_tfidf_baseline_is_a_fitted_pipeline_with_string_labels():
    from textclf.classifier import tfidf_baseline

    texts = ["good great fine"] * 6 + ["bad awful poor"] * 6
    labels = ["pos"] * 6 + ["neg"] * 6
    baseline = tfidf_baseline(texts, labels)
    assert baseline.score(texts, labels) == 1.0
    assert list(baseline.predict(["great", "awful"])) == ["pos", "neg"]
    with pytest.raises(ValueError, match="differ in length"):
        tfidf_baseline(texts, labels[:-1])


def test_tuned_tfidf_baseline_picks_c_on_validation():
    from textclf.classifier import tuned_tfidf_baseline

    texts = ["good great fine", "great fine day", "bad awful poor", "awful poor night"] * 3
    labels = ["pos", "pos", "neg", "neg"] * 3
    model, scores = tuned_tfidf_baseline(texts, labels, ["fine great", "poor awful"], ["pos", "neg"],
                                         Cs=(0.5, 2.0))
    assert list(scores) == [0.5, 2.0] and scores[0.5] == 1.0
    assert model.named_steps["logisticregression"].C == 0.5  # the first best on a tie
    with pytest.raises(ValueError, match="at least one value"):
        tuned_tfidf_baseline(texts, labels, texts, labels, Cs=())
