"""The sentence encoder: pinned files, vectors, its cache, and life without it."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from bot.app.batching import ReplyBatcher
from bot.entry import main
from bot.matching.classifier import LinearModel
from bot.matching.encoder import EncoderUnavailable, SentenceEncoder, load_encoder, packaged_model
from bot.matching.engine import Engine
from bot.matching.reply import Reply, ReplyKind
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


def test_example_vectors_are_kept_on_disk_and_reused(tmp_path):
    first = SentenceEncoder(cache_dir=tmp_path)
    vectors = first.encode(["beacon number", "fly tipping"], keep=True)
    (cache,) = tmp_path.glob("minilm-*.npz")
    second = SentenceEncoder(cache_dir=tmp_path)
    second._session = None  # a second encoder must not need the model for cached texts
    assert np.array_equal(second.encode(["beacon number", "fly tipping"]), vectors)
    assert cache.stat().st_size > 0


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
