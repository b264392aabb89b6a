"""Nothing lost, nothing answered twice: every update is recorded before it is answered.

* ``DurableQueue``: PTB's update queue. An update is written to the store's inbox before
  it is queued, so before polling confirms it to Telegram (the next ``getUpdates``) and
  before the webhook answers 200. One already answered (Telegram delivers again what was
  not confirmed) is dropped. The inbox knows an update by bot and number (``update_key``),
  and for 24 hours only: Telegram numbers each bot's updates apart, redelivers for a day
  at most, and after a week without updates starts again from a random number.
* ``InboxApplication``: as soon as an update's handlers have finished, it is marked done,
  in the same transaction as its question-log record.
* ``answer_pending``: at start-up, updates received but never answered (a ``kill -9``,
  the OOM killer, a power cut) are answered, or only logged when too old.
* ``InboxBot``: an update PTB cannot read is replaced by an empty one with its
  ``update_id``, so polling moves past it instead of fetching it again for ever
  (``read_update`` decides and logs, for the webhook too).

Exactly once as far as Telegram allows, and no further. Telegram cannot be asked whether a
message arrived, and an update cannot be marked answered before Telegram has accepted the
reply (a crash in between would lose the answer). So from the moment Telegram accepts a
reply until the commit that marks its update done, a ``kill -9`` makes the restarted bot
send that reply again. The window is kept short: between the reply's HTTP response and
the "done" record nothing waits (no I/O, no turn of the event loop; the question-log
record is made in the same step and commits with it), and the store commits "done"
records without lingering. ``benchmarks/crash_window.py`` (the real process, a local fake
Telegram, 10 kills per delay) measured: killed 0 or 1 ms after Telegram accepted the
reply, it was sent twice 10 times of 10; 2 ms, 3 of 10; 5 ms, 1 of 10; 3, 10 and 20 ms,
never. With the real Telegram, the response's trip back over the network adds to it.
It is longer in two cases: an answer split into several messages (it opens at the first
part), and a database that cannot be written: receipts and "done" records then wait in
memory, so a ``kill -9`` during the outage loses a question received during it and not
yet answered, and repeats a reply to one received before it. A power cut can undo the last
commits too (SQLite's WAL with ``synchronous = NORMAL``), with the same effect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, CallbackQuery, Chat, Message, MessageEntity, Update, User
from telegram.error import Conflict, TelegramError
from telegram.ext import Application, ExtBot

from bot.storage.queued import INBOX_KEPT
from bot.storage.store import InboxEntry, Store, StoreUnavailable, UpdateKey
from bot.telegram.logscrub import SCRUBBER

log = logging.getLogger(__name__)

DELAYED_AFTER = 300.0  # seconds: older questions are answered with "Sorry for the delay"
_REMEMBER = 20_000  # update ids kept in memory to recognise a second delivery at once


class DurableQueue(asyncio.Queue[object]):
    """The Application's update queue; ``store`` is set once it exists.

    Polling: an update is written in the background and queued once written, and the next
    ``getUpdates`` (which confirms the batch to Telegram) first waits for ``written()``,
    so a batch is one transaction, not one per update. Webhook (``wait_in_put``): ``put``
    waits, because PTB answers Telegram's call with 200 as soon as it returns."""

    def __init__(self, *, wait_in_put: bool = False) -> None:
        super().__init__()
        self.store: Store | None = None
        self._wait_in_put = wait_in_put
        self._seen: OrderedDict[int, float] = OrderedDict()  # update id: when (monotonic)
        self._writing: set[asyncio.Task[None]] = set()

    def seen(self, update_id: int) -> bool:
        """True for an id queued in this run (one bot: its own numbers) and less than a day
        ago, as the inbox (``INBOX_KEPT``); else remember it."""
        now = time.monotonic()
        while self._seen and now - next(iter(self._seen.values())) > INBOX_KEPT:
            self._seen.popitem(last=False)
        if update_id in self._seen:
            return True
        self._seen[update_id] = now
        if len(self._seen) > _REMEMBER:
            self._seen.popitem(last=False)
        return False

    async def put(self, item: object) -> None:
        if not isinstance(item, Update) or self.store is None:
            await super().put(item)
            return
        SCRUBBER.remember(item)
        if self.seen(item.update_id):
            return
        entry = inbox_entry(item, self.store)
        if entry is None:
            await super().put(item)
        elif self._wait_in_put:
            await self._receive(item, entry, self.store)
        else:
            task = asyncio.create_task(self._receive(item, entry, self.store))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _receive(self, update: Update, entry: InboxEntry, store: Store) -> None:
        if await store.receive(entry):
            await super().put(update)
        else:
            log.info("update %s was answered before; skipping it", update.update_id)

    async def written(self) -> None:
        """Wait until every update put so far is in the inbox (or given up on)."""
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)


class InboxApplication(Application):  # type: ignore[type-arg]  # PTB's generics, see services
    """PTB's Application that marks each recorded update done once handled: right after the
    handler's last reply and its question-log record, with nothing awaited in between."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update) or inbox_kind(update) is None:
            await super().process_update(update)
            return
        store: Store = self.bot_data["services"].assistant.store
        try:
            await super().process_update(update)
        except asyncio.CancelledError:
            raise  # cut short by a stop running out of time: answered at the next start
        except BaseException:
            await store.mark_done(update_key(update))
            raise
        await store.mark_done(update_key(update))


def bot_id(token: str) -> int:
    """The bot's id: the digits of its token before ':' (what getMe would answer)."""
    digits = token.partition(":")[0]
    return int(digits) if digits.isdigit() else 0


def update_key(update: Update) -> UpdateKey:
    """The inbox's key of an update: Telegram numbers updates per bot."""
    return UpdateKey(bot_id(update.get_bot().token), update.update_id)


def inbox_kind(update: Update) -> str | None:
    """What the inbox keeps: new messages and button presses (nothing else is answered)."""
    if update.message is not None and update.effective_user is not None:
        return "message"
    if update.callback_query is not None and update.callback_query.message is not None:
        return "button"
    return None


def inbox_entry(update: Update, store: Store) -> InboxEntry | None:
    kind = inbox_kind(update)
    user, chat = update.effective_user, update.effective_chat
    if kind is None or user is None or chat is None:
        return None
    thread = None
    if update.message is not None:
        message_id = update.message.message_id
        date = int(update.message.date.timestamp())
        text = store.redact(update.message.text or update.message.caption or "")
        thread = thread_of(update.message)
    elif update.callback_query is not None and update.callback_query.message is not None:
        message_id = update.callback_query.message.message_id
        date = int(time.time())
        text = update.callback_query.data or ""
    else:
        return None
    return InboxEntry(
        *update_key(update), int(time.time()), kind, chat.id, chat.type, user.id, message_id,
        date, text, thread,
    )  # fmt: skip


def thread_of(message: Message) -> int | None:
    """A group message's thread: its forum topic, else the message it replies to."""
    if message.chat.type == Chat.PRIVATE:
        return None
    if message.message_thread_id is not None:
        return message.message_thread_id
    replied = message.reply_to_message
    return replied.message_id if replied is not None else None


def rebuilt_update(entry: InboxEntry, bot: Any) -> Update:  # noqa: ANN401 -- PTB's ExtBot
    """The update again, from what the inbox kept, for the usual handlers."""
    user = User(entry.user_id, "", is_bot=False)
    chat = Chat(entry.chat_id, entry.chat_type)
    date = dt.datetime.fromtimestamp(entry.date, dt.UTC)
    if entry.kind == "button":
        under = Message(entry.message_id, date, chat, from_user=bot.bot)
        query = CallbackQuery("0", user, "", message=under, data=entry.text)
        update = Update(entry.update_id, callback_query=query)
    else:
        entities = []
        if entry.text.startswith("/"):
            command = entry.text.split(maxsplit=1)[0]
            entities.append(MessageEntity(MessageEntity.BOT_COMMAND, 0, len(command)))
        message = Message(
            entry.message_id, date, chat, from_user=user, text=entry.text, entities=entities,
            message_thread_id=entry.thread,
        )  # fmt: skip
        update = Update(entry.update_id, message=message)
    update.set_bot(bot)
    for part in (update.message, update.callback_query):
        if part is not None:
            part.set_bot(bot)
            if isinstance(part, CallbackQuery) and isinstance(part.message, Message):
                part.message.set_bot(bot)
    return update


async def answer_pending(
    app: Application,  # type: ignore[type-arg]
    store: Store,
    queue: DurableQueue,
    missed_after: float,
) -> None:
    """Queue the updates a previous run received and never answered; those older than
    ``missed_after`` seconds are only counted in the log (the moment has passed)."""
    try:
        entries = await store.pending_updates(bot_id(app.bot.token))
    except StoreUnavailable as exc:  # the database is down: nothing can be recovered now
        log.error("could not read unanswered updates from the inbox (%s)", exc)
        return
    except Exception:
        log.exception("could not read unanswered updates from the inbox")
        return
    now = time.time()
    missed = [e for e in entries if now - e.received > missed_after]
    for entry in missed:
        await store.mark_done(entry.key, "missed")
    if missed:
        log.warning(
            "%d question(s) received before a restart are older than %.0f hours and were "
            "not answered",
            len(missed),
            missed_after / 3600,
        )
    fresh = [e for e in entries if now - e.received <= missed_after]
    if fresh:
        log.info("answering %d updates received before the restart", len(fresh))
    for entry in fresh:
        queue.seen(entry.update_id)
        update = rebuilt_update(entry, app.bot)
        SCRUBBER.remember(update)
        await asyncio.Queue.put(queue, update)  # already in the inbox


def is_delayed(message: Message) -> bool:
    return time.time() - message.date.timestamp() > DELAYED_AFTER


def _not_a_batch_dump(record: logging.LogRecord) -> bool:
    """PTB logs a batch it cannot read at CRITICAL, raw data and all; ``InboxBot`` logs
    each unreadable update itself, once, by id and reason."""
    return not str(record.msg).startswith("Error while parsing updates!")


_BOT_LOG = logging.getLogger("telegram.ext.ExtBot.inbox")
_BOT_LOG.addFilter(_not_a_batch_dump)


class InboxBot(ExtBot[Any]):
    """PTB's bot, for three things polling needs.

    * The previous batch is written to the inbox before ``getUpdates`` confirms it.
    * An update PTB cannot read (a date in milliseconds, a field of the wrong type) is
      logged once, by id and reason, and handed on empty, so polling moves past it instead
      of fetching it again for ever. Each update is read once: only when PTB fails to read
      a batch is it read again one update at a time, from the raw answer kept by ``_post``.
    * A hook (``on_conflict``) is awaited when ``getUpdates`` gets 409 Conflict (another
      instance polls), before PTB retries: ``bot.telegram.standby`` decides whether to stop.
    """

    _LOGGER = _BOT_LOG

    def __init__(self, *args: Any, inbox: DurableQueue, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        self._inbox = inbox
        self._raw_updates: list[Any] | None = None
        self._unreadable = 0  # PTB's bot refuses new public attributes once made
        self._on_conflict: Callable[[], Awaitable[None]] | None = None

    @property
    def unreadable(self) -> int:
        """Updates skipped because they could not be read, in this run (/stats, health)."""
        return self._unreadable

    def on_conflict(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._on_conflict = hook

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint == "getUpdates":
            self._raw_updates = result
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:  # noqa: ANN401
        await self._inbox.written()  # this call confirms the last batch: record it first
        try:
            updates = await super().get_updates(*args, **kwargs)
            if all(map(_well_typed, updates)):
                return updates
            raise TypeError("a field of the wrong type")  # read again, one update at a time
        except Conflict:
            if self._on_conflict is not None:
                await self._on_conflict()
            raise
        except TelegramError:
            raise
        except Exception:
            raw = self._raw_updates
            if not isinstance(raw, list):
                raise
            return tuple(u for u in map(self._readable_or_empty, raw) if u is not None)
        finally:
            self._raw_updates = None  # residents' messages are not kept past their batch

    def _readable_or_empty(self, raw: object) -> Update | None:
        """The update, or an empty one with its id in place of one that cannot be read,
        so the next ``getUpdates`` confirms it; None without a usable id."""
        update = read_update(raw, self)
        if update is not None:
            return update
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return None
        empty = Update(update_id)
        empty.set_bot(self)
        return empty


def read_update(raw: object, bot: Bot | None) -> Update | None:
    """``raw`` as PTB reads it, or None when it cannot (a poison update): then one WARNING
    names its ``update_id`` and the reason, never its content. Polling and webhook alike."""
    try:
        if not isinstance(raw, dict):
            raise TypeError(f"a JSON {type(raw).__name__}, not an object")
        update = Update.de_json(raw, bot)
        _check_types(update)
        return update
    except Exception as exc:  # noqa: BLE001 -- any failure to read it makes it poison
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        log.warning("skipped update %s: it cannot be read (%s)", update_id, safe_reason(exc))
        count_unreadable(bot)
        return None


def count_unreadable(bot: object) -> None:
    """One more update skipped because it could not be read: admins see the count, so
    that a change on Telegram's side that makes every update unreadable is not silent."""
    if isinstance(bot, InboxBot):
        bot._unreadable += 1  # the one place that counts them


_INT64 = range(-(2**63), 2**63)


def _well_typed(update: Update) -> bool:
    try:
        _check_types(update)
    except TypeError:
        return False
    return True


def _check_types(update: Update) -> None:
    """PTB takes JSON values as they come: a ``"text": 12345`` stays a number and breaks
    whatever reads it later. Refuse an update whose ids or texts have the wrong type."""
    ids: dict[str, object] = {"update_id": update.update_id}
    texts: dict[str, object] = {}
    if (message := update.effective_message) is not None:
        ids["message_id"] = message.message_id
        texts |= {"text": message.text, "caption": message.caption}
    if (query := update.callback_query) is not None:
        texts["data"] = query.data
    for role, person in (("user", update.effective_user), ("chat", update.effective_chat)):
        if person is not None:
            ids[f"{role} id"] = person.id
            texts |= {f"{role} {k}": getattr(person, k, None) for k in _NAMES}
    for name, value in ids.items():
        if not isinstance(value, int) or isinstance(value, bool) or value not in _INT64:
            raise TypeError(f"{name} is not a 64-bit integer")
    for name, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} is a {type(value).__name__}, not a string")


_NAMES = ("first_name", "last_name", "username", "title")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def safe_reason(error: Exception) -> str:
    """The error's class and message, without the quoted values a message may repeat from
    the update (``invalid literal for int(): 'my neighbour'``)."""
    return f"{error.__class__.__name__}: {_QUOTED.sub('…', str(error))[:120]}"
