"""The sentence encoder: pinned files, vectors, its cache, and life without it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from bot.app.assembly import load_engine
from bot.app.batching import ReplyBatcher
from bot.entry import main
from bot.matching.classifier import LinearModel
from bot.matching.encoder import EncoderUnavailable, SentenceEncoder, load_encoder, packaged_model
from bot.matching.engine import Engine
from bot.matching.reply import Reply, ReplyKind
from bot.settings import Settings
from tests.conftest import project_content


def test_similar_questions_are_closer_than_unrelated_ones(encoder):
    bike, bicycle, beacon = encoder.encode(
        ["some lads nicked my bike", "my bicycle was stolen", "beacon opening hours"]
    )
    assert np.allclose(np.linalg.norm([bike, bicycle, beacon], axis=1), 1.0, atol=1e-5)
    assert bike @ bicycle > bike @ beacon + 0.2


def test_a_long_message_is_read_to_its_end(encoder):
    rambling = "so this is about my neighbour and the fence and the hedge " * 40
    (vector,) = encoder.encode([rambling + "how do i report fly tipping"])
    (plain,) = encoder.encode([rambling])
    assert not np.allclose(vector, plain)  # the question at the end still counts


def test_a_burst_of_long_and_short_messages_reads_each_as_if_alone(encoder):
    """Many messages arrive together (a flood of long ones among them): they are encoded in
    runs of bounded size, and each gets the vector it gets on its own."""
    texts = [f"message {n} about the fence and the hedge next door " * (1 + n % 30) for n in range(40)]
    texts += [f"beacon number {n}" for n in range(40)]
    together = encoder.encode(texts)
    encoder.forget_messages()
    alone = np.stack([encoder.encode([text])[0] for text in texts[::7]])
    assert np.allclose(together[::7], alone, atol=2e-3)


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EncoderUnavailable, match="pinned SHA-256"):
        SentenceEncoder(fake)


# Texts that are not in the shipped content, so no shipped vector stands in for them.
NEW_TEXTS = ["a heron took the goldfish from my pond", "the bus shelter glass is smashed again"]


def counting(encoder: SentenceEncoder) -> list[int]:
    """How many texts ``encoder`` encodes for each call that keeps them."""
    counts: list[int] = []
    encoder.on_encoding = counts.append
    return counts


def test_example_vectors_are_kept_on_disk_and_reused(tmp_path):
    first = SentenceEncoder(cache_dir=tmp_path)
    vectors = first.encode(NEW_TEXTS, keep=True)
    (cache,) = tmp_path.glob("minilm-*.npz")
    second = SentenceEncoder(cache_dir=tmp_path)
    second._session = None  # a second encoder must not need the model for cached texts
    assert np.array_equal(second.encode(NEW_TEXTS), vectors)
    assert cache.stat().st_size > 0


def test_a_changed_example_is_encoded_again_and_the_rest_reused(tmp_path):
    SentenceEncoder(cache_dir=tmp_path).encode(NEW_TEXTS, keep=True)
    encoder = SentenceEncoder(cache_dir=tmp_path)
    counts = counting(encoder)
    edited = [NEW_TEXTS[0], "the bus shelter glass was smashed last night"]
    vectors = encoder.encode(edited, keep=True)
    assert counts == [1]  # only the edited text
    fresh = SentenceEncoder().encode(edited)
    assert np.allclose(vectors, fresh, atol=1e-6)


def test_vectors_cached_for_another_model_are_not_used(tmp_path, caplog):
    """After an upgrade of the model, vectors kept for the old one would answer wrongly:
    a cache file whose model digest is not this encoder's is passed over."""
    first = SentenceEncoder(cache_dir=tmp_path)
    right = first.encode(NEW_TEXTS, keep=True)
    (cache,) = tmp_path.glob("minilm-*.npz")
    with np.load(cache) as data:
        keys = data["keys"]
    np.savez(cache, keys=keys, vectors=-right, model=np.array("0" * 64))  # stale and wrong
    encoder = SentenceEncoder(cache_dir=tmp_path)
    counts = counting(encoder)
    with caplog.at_level(logging.INFO):
        vectors = encoder.encode(NEW_TEXTS, keep=True)
    assert counts == [2] and np.allclose(vectors, right, atol=1e-6)
    assert "for another model: not used" in caplog.text


def test_a_fresh_install_answers_without_encoding_the_shipped_examples(tmp_path):
    """The shipped content's vectors ship with the package: an empty cache folder (a fresh
    clone) starts without "Preparing answers: encoding N examples"."""
    lines: list[str] = []
    engine, _ = load_engine(Settings(cache_dir=tmp_path), lines.append)
    assert lines == []
    assert engine.respond("beacon numbr").intent == "victim_support_beacon"


def test_products_run_on_int8_and_read_as_the_float32_graph_does():
    int8 = SentenceEncoder()
    float32 = SentenceEncoder(int8=False)
    texts = ["some lads nicked my bike", "beacon opening hours", "he's got a knife"]
    cosines = (int8.encode(texts) * float32.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.99
    assert int8.model_digest != float32.model_digest  # their vectors are cached apart


def test_an_altered_int8_graph_in_the_cache_is_derived_again(tmp_path, caplog):
    SentenceEncoder(cache_dir=tmp_path)
    (graph,) = tmp_path.glob("minilm-int8-*.onnx")
    pinned = graph.read_bytes()
    graph.write_bytes(pinned[:-1000] + bytes(1000))  # altered weights
    with caplog.at_level(logging.WARNING):
        encoder = SentenceEncoder(cache_dir=tmp_path)
    assert "was altered; derived it again" in caplog.text
    assert graph.read_bytes() == pinned
    assert hashlib.sha256(pinned).hexdigest() == encoder.model_digest


def test_a_broken_encoder_leaves_tf_idf_answering_and_says_so(tmp_path, caplog):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"truncated download")
    with caplog.at_level(logging.ERROR):
        encoder = load_encoder(fake)
    assert encoder is None
    assert "sentence encoder unavailable" in caplog.text and "TF-IDF alone" in caplog.text
    engine = Engine(project_content(), encoder)
    assert "TF-IDF only" in engine.matching_mode
    reply = engine.respond("beacon numbr")
    assert reply.kind is ReplyKind.ANSWER and reply.intent == "victim_support_beacon"
    assert engine.respond("he's got a knife and he's coming at me").kind is ReplyKind.EMERGENCY


def test_the_command_line_runs_without_the_encoder(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"x")
    monkeypatch.setenv("ENCODER_MODEL", str(fake))
    assert main(["ask", "beacon numbr"]) == 0
    assert "0300 011 55 55" in capsys.readouterr().out


def test_the_packaged_model_is_the_pinned_one():
    path = packaged_model()
    assert path is not None and path.is_file()
    SentenceEncoder(path)  # raises when the installed package's file is not the pinned one


class Live:
    """Stands in for LiveContent: the batcher reads ``engine`` anew for each batch."""

    def __init__(self, respond_many) -> None:
        self.engine = SimpleNamespace(respond_many=respond_many)


async def test_messages_that_arrive_together_are_answered_in_one_batch(engine):
    batches: list[list[str]] = []

    def respond_many(texts: list[str], hints: list[str | None]) -> list[Reply]:
        batches.append(texts)
        return engine.respond_many(texts, hints)

    batcher = ReplyBatcher(Live(respond_many), workers=1)
    texts = ["beacon number", "fly tipping", "how do i join the police"] * 10
    replies = await asyncio.gather(*(batcher.reply(t) for t in texts))
    assert [r.question for r in replies] == texts  # each handler gets its own reply
    assert [r.intent for r in replies[:3]] == [
        "victim_support_beacon",
        "fly_tipping_report",
        "join_police",
    ]
    assert len(batches) <= 2  # the first message starts a batch; the rest share the next


async def test_an_error_in_a_batch_reaches_its_handlers_and_the_next_batch_is_answered(engine):
    calls = []

    def respond_many(texts: list[str], hints: list[str | None]) -> list[Reply]:
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return engine.respond_many(texts, hints)

    batcher = ReplyBatcher(Live(respond_many), workers=1)
    first = await asyncio.gather(batcher.reply("a"), return_exceptions=True)
    assert isinstance(first[0], RuntimeError)
    reply = await batcher.reply("beacon number")
    assert reply.intent == "victim_support_beacon"


def test_a_cache_folder_that_cannot_be_written_costs_time_not_answers(tmp_path, caplog):
    """A read-only, full or missing disk for CACHE_DIR (here: a path under a plain file,
    which fails as a read-only one does, for root too): vectors and the trained model are
    not kept, a warning says so, and everything still works."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    cache = blocked / "cache"
    with caplog.at_level(logging.WARNING):
        encoder = SentenceEncoder(cache_dir=cache)
        vectors = encoder.encode(["beacon number", "fly tipping"], keep=True)
        model = LinearModel(["a", "b"]).fit(
            ["beacon number", "fly tipping"], ["a", "b"], vectors, cache_dir=cache
        )
    assert model.scores("beacon number", vectors[0]).argmax() == 0
    assert "encoder cache not saved" in caplog.text and "trained model not kept" in caplog.text
    assert blocked.read_text() == "not a folder"


def test_the_install_leaves_what_the_first_answer_needs_in_the_cache(tmp_path, monkeypatch, capsys):
    """scripts/ensure-env runs `prepare` after installing: the int8 graph and the trained
    models are then in CACHE_DIR, so the first `./run ask` neither derives nor trains."""
    monkeypatch.setenv("CACHE_DIR", str(tmp_path))
    assert main(["prepare"]) == 0
    assert "Ready: " in capsys.readouterr().err
    assert list(tmp_path.glob("minilm-int8-*.onnx")) and list(tmp_path.glob("model-*.npz"))
    trained = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert main(["ask", "beacon numbr"]) == 0
    assert "0300 011 55 55" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == trained  # nothing redone


def test_damaged_cache_files_are_rebuilt_not_a_stopped_start(tmp_path, caplog):
    """A power cut soon after a cache file was renamed into place can leave it empty (its
    data had not reached the disk), a bad disk or copy can cut it short: loading either
    raised (EOFError, BadZipFile), so the bot could not start until someone deleted it."""
    engine, _ = load_engine(Settings(cache_dir=tmp_path), lambda _: None)
    assert engine.encoder is not None
    engine.encoder.encode(["a text no example has"], keep=True)  # kept on disk
    (vectors,) = tmp_path.glob("minilm-*.npz")
    vectors.write_bytes(b"")
    for model in tmp_path.glob("model-*.npz"):
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        engine, _ = load_engine(Settings(cache_dir=tmp_path), lambda _: None)
    assert engine.respond("beacon numbr").intent == "victim_support_beacon"
    assert f"encoder cache {vectors} unreadable (No data left in file); rebuilding" in caplog.text
