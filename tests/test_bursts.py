"""A chat's burst of messages: what the safety check reads together, and its bounds."""

from __future__ import annotations

from bot.matching import bursts
from bot.matching.bursts import Bursts


def test_a_chat_sees_its_own_messages_of_the_last_two_minutes_oldest_first():
    memory = Bursts()
    assert memory.add("alice", "theres a man outside", now=0) == []
    assert memory.add("bob", "beacon number", now=1) == []
    assert memory.add("alice", "he has a knife", now=30) == ["theres a man outside"]
    assert memory.add("alice", "what do i do", now=140) == ["he has a knife"]  # 0 s: gone


def test_a_burst_of_plain_topic_answers_is_not_read_again():
    memory = Bursts()
    assert memory.add("alice", "beacon number", now=0, plain=True) == []
    assert memory.add("alice", "how do i report fly tipping", now=5, plain=True) == []
    assert memory.add("alice", "please hurry", now=9) == [
        "beacon number",
        "how do i report fly tipping",
    ]


def test_the_emergency_reply_is_remembered_for_the_burst_only():
    memory = Bursts()
    memory.add("alice", "theres a man outside", now=0)
    memory.mark_alerted("alice", now=10)
    assert memory.alerted("alice", now=100) and not memory.alerted("bob", now=100)
    assert not memory.alerted("alice", now=131)


def test_memory_is_bounded_in_chats_messages_and_characters():
    memory = Bursts(max_chats=3)
    for chat in range(5):
        memory.add(chat, "hello", now=0)
    assert len(memory) == 3 and memory.add(0, "again", now=1) == []  # chat 0 was dropped
    for n in range(20):
        memory.add("alice", f"message {n}", now=n)
    assert len(memory.add("alice", "last", now=21)) == bursts.MAX_MESSAGES
    memory.add("bob", "x" * 10_000, now=0)
    (kept,) = memory.add("bob", "y", now=1)
    assert len(kept) == bursts.MAX_CHARS
