"""The answering engine: a resident's message in, one outcome and its reply out.

Order of work: normalise; encode (the sentence vector, when the encoder is available); the
safety check (danger now -> 999 first, crisis -> crisis lines, before any topic); score
every topic; then answer, suggest or fall back by the thresholds in the settings.
Free of Telegram and storage, so the console, the CLI and the bot share one path.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.content import answers
from bot.content.facts import FactKind, link_key
from bot.content.intents import SAFETY_OUTCOMES, Intent, Outcome
from bot.content.loading import Content
from bot.content.matching_settings import Thresholds
from bot.content.safety import SafetyLabel
from bot.matching.classifier import LinearModel
from bot.matching.encoder import SentenceEncoder, dictionary_words
from bot.matching.language import ENGLISH, DangerWords, LanguageGuesser
from bot.matching.normalise import Normaliser
from bot.matching.reply import Candidate, Reply, ReplyKind
from bot.matching.reply_cache import ReplyCache
from bot.matching.safety import Safety, SafetyModel, SafetyVerdict, assess
from bot.text import MAX_INPUT_CHARS, MAX_MESSAGE_CHARS, PhraseSet, clean, digits, windows

GENERIC_FALLBACK = "Sorry, I don't have an answer to that."
SUGGESTION_LIMIT = 3
# Under the likeliest answer when the match was unsure (``_suggest``).
OTHER_TOPICS = "<i>Not what you needed? It may be one of these:</i>"
ASK_AGAIN = "<i>Not what you needed? Try asking in other words.</i>"
DANGER_PROMPT = "🚨 <b>If you or anyone else is in danger now, call 999.</b>"
# A message longer than matching reads (MAX_INPUT_CHARS) is also read for danger in parts
# of about this size. Shorter ones are read whole: a sentence alone loses its context ("I
# can't cope with the paperwork", "he's there now" about a parked van) and drew false 999s.
SAFETY_WINDOW_CHARS = 200
# A message over TAIL_FROM_CHARS also has its sentences in its last TAIL_CHARS read alone,
# held to ``part_danger_tail``: the background comes first, what is happening now last.
TAIL_FROM_CHARS = 300
TAIL_CHARS = 300
# A shorter message of two sentences or more has its last sentences read alone for crisis
# only: "everyone hates me and the pics are everywhere. gonna end it tonight" scored as a
# whole under the crisis threshold. For danger, reading them cost many false 999s.
CRISIS_TAIL_FROM_CHARS = 60
# Topics are also scored on a long message's last ENDING_CHARS, and each topic keeps the
# better of its two scores: residents tell the story first and ask last ("...who do I
# contact?"), and a whole long message scores every topic low. On the spent blind rounds'
# 498 calm messages over 300 characters: 415 right routes with the whole message alone,
# 455 with its ending too (docs/measurements.md, sixth session).
ENDING_CHARS = 600
_SEVERITY = {Safety.NONE: 0, Safety.UNSURE: 1, Safety.CRISIS: 2, Safety.DANGER_NOW: 3}
Vector = npt.NDArray[np.float32]
_SAFETY_LABEL_OF = {Outcome.EMERGENCY: SafetyLabel.DANGER_NOW, Outcome.CRISIS: SafetyLabel.CRISIS}


def _parts(text: str) -> list[tuple[int, str, bool]]:
    """The parts of ``text`` the safety check also reads alone, each with its offset and
    whether it is among the last sentences: every part of a message over
    ``MAX_INPUT_CHARS``, only the last sentences of a shorter one."""
    tail_from = min(len(text), MAX_MESSAGE_CHARS) - TAIL_CHARS
    whole = len(text) > MAX_INPUT_CHARS
    return [
        (start, part, start >= tail_from)
        for start, part in windows(text, SAFETY_WINDOW_CHARS)
        if whole or start >= tail_from
    ]


def _ending(text: str, size: int = ENDING_CHARS) -> str | None:
    """The last ``size`` characters of a longer message (of what Telegram allows), from a
    word's start; None for a shorter one."""
    text = text[:MAX_MESSAGE_CHARS]
    if len(text) <= size:
        return None
    ending = text[-size:]
    space = ending.find(" ")
    return ending[space + 1 :] if 0 <= space < len(ending) - 1 else ending


class _NearestExamples:
    """Each likely topic's score gains ``weight`` times the message's similarity to that
    topic's nearest example. The linear model scores a message by its words and meaning,
    and can score a question unlike every example (out of scope) as surely as one close to
    an example; the nearest example tells them apart. On CLINC150
    (benchmarks/clinc150.py) weight 1 turns away 75% of out-of-scope questions instead of
    64%, at the same in-scope accuracy. Only the ``CANDIDATES`` best topics by the linear
    score are looked at (a few small products instead of one over every example): the
    same figures there down to 3 candidates."""

    CANDIDATES = 8
    # Without sentence vectors (the encoder would not load), the similarity counted for
    # each likely topic: the answer and suggest thresholds moved up by this much when the
    # weight went from 0 to 1, so a bot on TF-IDF alone answers as it did before.
    NO_VECTOR_SIMILARITY = 0.5

    def __init__(
        self, ids: list[str], labels: list[str], vectors: Vector | None, weight: float
    ) -> None:
        """``labels[row]`` is the topic of ``vectors[row]`` (its examples and keywords),
        each topic's rows together, as the engine builds them."""
        self._weight = weight
        self._vectors = vectors
        spans: dict[str, tuple[int, int]] = {}
        for row, label in enumerate(labels):
            first, end = spans.get(label, (row, row))
            if end != row:
                raise ValueError(f"the rows of '{label}' are not together")
            spans[label] = (first, row + 1)
        self._spans = [spans.get(i) for i in ids]

    def add(self, scores: npt.NDArray[np.float32], vector: Vector | None) -> None:
        if not self._weight or not len(scores):
            return
        count = min(self.CANDIDATES, len(scores))
        for topic in np.argpartition(-scores, count - 1)[:count]:
            span = self._spans[topic]
            if span is None:
                continue
            if self._vectors is None or vector is None:
                nearest = self.NO_VECTOR_SIMILARITY
            else:
                nearest = float((self._vectors[span[0] : span[1]] @ vector).max())
            scores[topic] += self._weight * nearest


class Engine:
    """Built once per content version; ``respond`` is pure and safe to call concurrently."""

    def __init__(
        self,
        content: Content,
        encoder: SentenceEncoder | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir`` keeps trained models between starts (and example vectors, in the
        encoder's own cache)."""
        self.content = content
        self.intents = content.intents
        self.encoder = encoder
        self.cache_dir = cache_dir
        cfg = content.matching
        self._recent = ReplyCache()
        self._thresholds = cfg.thresholds
        vocabulary = {word for text in self._all_phrases(content) for word in clean(text).split()}
        self.normalise = Normaliser(cfg.replacements, vocabulary, dictionary_words())
        # Topics compete in matching; emergency and crisis are the safety check's to choose.
        self._ids = [i.id for i in self.intents.values() if i.outcome not in SAFETY_OUTCOMES]
        texts: list[str] = []
        labels: list[str] = []
        self._examples: dict[str, list[tuple[str, str]]] = {}
        for intent_id in self._ids:
            intent = self.intents[intent_id]
            for text in (*intent.examples, *intent.keywords):
                texts.append(self.normalise(text))
                labels.append(intent.id)
                self._examples.setdefault(intent.id, []).append((texts[-1], text))
        safety_texts, safety_labels = self._safety_examples(content)
        safety_words = [self.normalise(text) for text in safety_texts]
        # The safety check learns from topic examples too (as "not danger"), in this order.
        vectors = self._encode([*safety_words, *texts], keep=True)
        topic_vectors = None if vectors is None else vectors[len(safety_words) :]
        self.model = LinearModel(self._ids, cfg.regularisation).fit(
            texts, labels, topic_vectors, cache_dir
        )
        self._nearest = _NearestExamples(self._ids, labels, topic_vectors, cfg.nearest_weight)
        self.safety = SafetyModel(
            [*safety_words, *texts],
            [*safety_labels, *[SafetyLabel.NOT_DANGER] * len(texts)],
            vectors,
            cfg.regularisation,
            cache_dir,
        )
        keyword_owners = [
            (self._ids.index(intent_id), self.normalise(keyword))
            for intent_id in self._ids
            for keyword in (*self.intents[intent_id].keywords, *self._fact_keywords(intent_id))
        ]
        self._keyword_owner = [owner for owner, _ in keyword_owners]
        self._keywords = PhraseSet(phrase for _, phrase in keyword_owners)
        self._keyword_boost = cfg.keyword_boost
        self._answerable = np.array(
            [self.intents[i].outcome is Outcome.ANSWER for i in self._ids], dtype=bool
        )
        self._after_999 = np.array([self.intents[i].after_999 for i in self._ids], dtype=bool)
        self.topics = [i for i in self.intents.values() if i.menu]
        topics_html = "\n".join(f"• {html.escape(i.title)}" for i in self.topics)
        self.rendered = {
            i.id: answers.render(i.answer, content.facts, topics_html) + _checked_note(i)
            for i in self.intents.values()
        }
        # The general "no answer" reply: the out_of_scope intent's, else the first fallback
        # intent's. Other fallback intents ("bins are the council's") reply with their own.
        fallbacks = [i.id for i in self.intents.values() if i.outcome is Outcome.FALLBACK]
        general = "out_of_scope" if "out_of_scope" in fallbacks else next(iter(fallbacks), None)
        self._fallback_html = self.rendered[general] if general else GENERIC_FALLBACK
        self._emergency_id = self._id_of(Outcome.EMERGENCY)
        self._crisis_id = self._id_of(Outcome.CRISIS)
        self.languages = LanguageGuesser(vocabulary)
        self.cards = {
            code: answers.render(card.card, content.facts)
            for code, card in content.cards.cards.items()
        }
        self._card_danger = {
            code: DangerWords(card.danger) for code, card in content.cards.cards.items()
        }

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    @thresholds.setter
    def thresholds(self, value: Thresholds) -> None:
        """New thresholds (calibration, benchmarks): recent replies were decided by the old."""
        self._thresholds = value
        self._recent = ReplyCache()

    @property
    def uses_encoder(self) -> bool:
        return self.encoder is not None

    @property
    def matching_mode(self) -> str:
        """One line for admins: whether the sentence encoder is in use."""
        if self.encoder is not None:
            return "Matching: sentence encoder and TF-IDF."
        return (
            "Matching: TF-IDF only – the sentence encoder is off or could not be loaded "
            "(see the log); answers and the danger check understand less."
        )

    @property
    def emergency_id(self) -> str | None:
        """The intent holding the emergency reply (999 first)."""
        return self._emergency_id

    # -- public API

    def score(self, words: str, vector: Vector | None = None) -> npt.NDArray[np.float32]:
        """Every topic's score for normalised ``words``, keyword boosts and (for the likely
        topics) the nearest example included."""
        scores = self.model.scores(words, vector)
        for found in self._keywords.matching(words):
            scores[self._keyword_owner[found]] += self._keyword_boost
        self._nearest.add(scores, vector)
        return scores

    def respond(self, text: str, hint: str | None = None) -> Reply:
        return self.respond_many([text], [hint])[0]

    def respond_many(self, texts: list[str], hints: list[str | None] | None = None) -> list[Reply]:
        """Replies to several messages, their sentence vectors computed in one batch.
        ``hints`` are the residents' Telegram languages (``language_code``), if known.
        A message answered recently (the same text and hint) reuses its reply."""
        hints = hints or [None] * len(texts)
        replies = [self._recent.get(text, hint) for text, hint in zip(texts, hints, strict=True)]
        new = [i for i, reply in enumerate(replies) if reply is None]
        if new:
            fresh = self._respond_new([texts[i] for i in new], [hints[i] for i in new])
            for i, reply in zip(new, fresh, strict=True):
                replies[i] = reply
                self._recent.put(texts[i], hints[i], reply)
        return [reply for reply in replies if reply is not None]

    def _respond_new(self, texts: list[str], hints: list[str | None]) -> list[Reply]:
        languages = [
            self.languages.identify(text, hint) for text, hint in zip(texts, hints, strict=True)
        ]
        replies = [
            self._card(text, language) for text, language in zip(texts, languages, strict=True)
        ]
        todo = [i for i, reply in enumerate(replies) if reply is None]
        cleaned = [clean(texts[i]) for i in todo]
        words = [self.normalise.canonical(c) for c in cleaned]
        vectors = self._encode(words)
        verdicts = self._verdicts([texts[i] for i in todo], cleaned, words, vectors)
        endings = self._endings([texts[i] for i in todo])
        for n, i in enumerate(todo):
            vector = None if vectors is None else vectors[n]
            scores = self._scores(words[n], vector, endings.get(n))
            reply = self._respond(texts[i], words[n], scores, verdicts[n])
            replies[i] = replace(reply, language=languages[i])
        return [reply for reply in replies if reply is not None]

    def _verdicts(
        self, texts: list[str], cleaned: list[str], words: list[str], vectors: Vector | None
    ) -> list[SafetyVerdict]:
        """The safety verdict on each message as a whole (its first ``MAX_INPUT_CHARS``,
        as matching reads it) and, for a message longer than that, on each of its
        sentences and pairs of sentences up to Telegram's 4,096 characters, each held to
        the surer ``part_*`` thresholds (the first characters too): a part that
        is danger now or crisis decides, so a danger sentence anywhere gets 999 first. A
        part that would be danger now alone but not surely enough as a part leads the
        answer with the 999 line when it is in the message's last ``ENDING_CHARS``, where
        residents say what is happening now (earlier, it is the story); a part merely in
        the unsure band does not (the more parts, the more of them would be). A
        ``never`` phrase ("I'm not in danger") silences danger in the whole and in the
        parts told before it, though not a crisis.
        A message over ``TAIL_FROM_CHARS`` also has its last sentences read alone, held to
        ``part_danger_tail`` when they agree read together (:meth:`_sure_enough`): "…and
        now he's at the back door" ends many a long message;
        a shorter one over ``CRISIS_TAIL_FROM_CHARS``, for crisis only."""
        votes = self.safety.votes(vectors)
        verdicts = [
            self.assess(
                c,
                w,
                None if vectors is None else vectors[n],
                None if votes is None else votes[n],
            )
            for n, (c, w) in enumerate(zip(cleaned, words, strict=True))
        ]
        verdicts = [
            self._sure_enough(verdict, cleaned[n]) if len(texts[n]) > MAX_INPUT_CHARS else verdict
            for n, verdict in enumerate(verdicts)
        ]
        parts = [
            (n, start, part, tail)
            for n, text in enumerate(texts)
            if len(text) > CRISIS_TAIL_FROM_CHARS
            for start, part, tail in _parts(text)
            if len(part) < len(text)
        ]
        part_cleaned = [clean(part) for _, _, part, _ in parts]
        part_words = [self.normalise.canonical(c) for c in part_cleaned]
        denied = self._denied(parts, part_cleaned, part_words)
        part_vectors = self._encode(part_words)
        part_votes = self.safety.votes(part_vectors)
        # Worked out only for a part that needs it, once per message.
        ending_danger = functools.cache(lambda n: self._ending_danger(texts[n]))
        for k, (n, start, _, tail) in enumerate(parts):
            vector = None if part_vectors is None else part_vectors[k]
            vote = None if part_votes is None else part_votes[k]
            said = self.assess(part_cleaned[k], part_words[k], vector, vote)
            if said.safety is not Safety.CRISIS and (
                len(texts[n]) <= TAIL_FROM_CHARS or k in denied
            ):
                continue
            verdict = self._sure_enough(
                said, part_cleaned[k], tail, functools.partial(ending_danger, n)
            )
            best = verdicts[n]
            graver = (_SEVERITY[verdict.safety], verdict.danger) > (
                _SEVERITY[best.safety],
                best.danger,
            )
            doubted = (
                said.safety is Safety.DANGER_NOW
                and verdict.safety is Safety.UNSURE
                and start >= len(texts[n]) - ENDING_CHARS
            )
            if graver and (verdict.safety in (Safety.DANGER_NOW, Safety.CRISIS) or doubted):
                why = f"{verdict.why} (in the part from character {start})"
                verdicts[n] = replace(verdict, why=why)
        return verdicts

    def _denied(
        self, parts: list[tuple[int, int, str, bool]], cleaned: list[str], words: list[str]
    ) -> set[int]:
        """The indices of the ``(message, start, part, tail)`` parts told up to their
        message's last sentence with a ``never`` phrase ("nobody is in danger"), in the
        resident's words or the corrected ones: a denial speaks for the danger told before
        it, not for what happens after it ("I'd ask how to report it if it's not an
        emergency. Anyway, now two men have..."), nor for a crisis ("I've written my
        goodbye letters. I'm not in any danger from anyone else"). Sentences only, not
        pairs: cleaning drops the full stop that keeps "I said no. Emergency services
        came" from reading as "no emergency"."""
        sentence: dict[tuple[int, int], int] = {}  # the shortest part at a start
        for k, (n, start, part, _) in enumerate(parts):
            shortest = sentence.get((n, start))
            if shortest is None or len(part) < len(parts[shortest][2]):
                sentence[(n, start)] = k
        never = self.content.danger.never_match
        denied: dict[int, int] = {}
        for (n, start), k in sentence.items():
            if never(cleaned[k]) or never(words[k]):
                denied[n] = max(denied.get(n, -1), start)
        return {k for k, (n, start, _, _) in enumerate(parts) if start <= denied.get(n, -1)}

    def _ending_danger(self, text: str) -> float:
        """The danger score of a message's last ``TAIL_CHARS`` read together, before staff
        phrases (a denial told earlier in them must not hide a danger told after it)."""
        ending = _ending(text, TAIL_CHARS) or text
        words = self.normalise.canonical(clean(ending))
        vectors = self._encode([words])
        return self.safety.scores(words, None if vectors is None else vectors[0])[0]

    def _sure_enough(
        self,
        verdict: SafetyVerdict,
        cleaned: str,
        tail: bool = False,
        ending_danger: Callable[[], float] | None = None,
    ) -> SafetyVerdict:
        """The verdict on part of a long message (a sentence, or the first
        ``MAX_INPUT_CHARS``): danger now or crisis only when surer than for a short message
        (``part_*`` thresholds), since a long story about the past holds many alarming
        sentences; less sure will do for danger when the part says it is happening now
        ("he's still outside"), or is among the message's last sentences (``tail``), and,
        for a sentence, the message's ending agrees (``ending_danger``: out of its story,
        "they just walk out" or "nobody is hurt right now" reads as danger).
        Danger not sure enough still leads with the 999 line."""
        th = self.thresholds
        if verdict.safety is Safety.DANGER_NOW:
            present = self.content.danger.present_match(cleaned)
            agrees = (
                ending_danger is None
                or verdict.danger >= th.part_danger_alone
                or ending_danger() >= th.part_danger_context
            )
            if verdict.danger >= th.part_danger or (
                agrees
                and (
                    (present and verdict.danger >= th.part_danger_present)
                    or (tail and verdict.danger >= th.part_danger_tail)
                )
            ):
                return verdict
            why = f"{verdict.why}, but part of a long message needs {th.part_danger}"
            return replace(verdict, safety=Safety.UNSURE, why=why)
        if verdict.safety is Safety.CRISIS and verdict.crisis < th.part_crisis:
            return replace(verdict, safety=Safety.NONE, why="")
        return verdict

    def _endings(self, texts: list[str]) -> dict[int, tuple[str, Vector | None]]:
        """The normalised ending (``_ending``) of each long message, by its index, with
        its sentence vector: one batch for all of them."""
        endings = {n: ending for n, text in enumerate(texts) if (ending := _ending(text))}
        words = [self.normalise.canonical(clean(e)) for e in endings.values()]
        vectors = self._encode(words)
        return {
            n: (w, None if vectors is None else vectors[k])
            for k, (n, w) in enumerate(zip(endings, words, strict=True))
        }

    def _scores(
        self, words: str, vector: Vector | None, ending: tuple[str, Vector | None] | None
    ) -> npt.NDArray[np.float32]:
        """Every topic's score for a message: for a long one, the better of the score of
        the message (its first ``MAX_INPUT_CHARS``) and of its ending."""
        scores = self.score(words, vector)
        if ending is not None and ending[0]:
            scores = np.maximum(scores, self.score(*ending))
        return scores

    def _respond(
        self, text: str, words: str, scores: npt.NDArray[np.float32], verdict: SafetyVerdict
    ) -> Reply:
        if not words and verdict.safety is Safety.NONE:
            return Reply(
                question=text,
                kind=ReplyKind.FALLBACK,
                intent=None,
                confidence=0.0,
                html=self._fallback_html,
                decided_by="no words to match",
            )
        order = np.argsort(-scores)[: SUGGESTION_LIMIT + 2]
        ranked = tuple(Candidate(self._ids[i], float(scores[i])) for i in order)
        if verdict.safety is Safety.DANGER_NOW:
            return self._emergency(text, scores, ranked, verdict)
        if verdict.safety is Safety.CRISIS and self._crisis_id:
            return self._crisis(text, self._crisis_id, ranked, verdict)
        reply = self._match(text, ranked)
        if verdict.safety is Safety.UNSURE and self._surely_calm(reply, verdict):
            needs = self.thresholds.danger_unsure_answered
            why = f"{verdict.why}, but a sure calm answer needs {needs}"
            return replace(reply, decided_by=f"{reply.decided_by}; {why}")
        if verdict.safety is Safety.UNSURE and reply.leads_with_999:
            # The answer's own first line already says 999: a second 999 line above it
            # would only repeat it. The "I'm in danger now" button and staff's warning stay.
            why = f"{reply.decided_by}; {verdict.why}"
            return replace(reply, danger_prompt=True, decided_by=why)
        if verdict.safety is Safety.UNSURE:
            return replace(
                reply,
                html=f"{DANGER_PROMPT}\n\n{reply.html}",
                danger_prompt=True,
                decided_by=f"{reply.decided_by}; {verdict.why}",
            )
        return reply

    def _surely_calm(self, reply: Reply, verdict: SafetyVerdict) -> bool:
        """Whether an unsure verdict low in the band goes without the 999 line because
        the message is surely a question on a topic staff have not marked ``after_999``
        ("catalytic converter nicked off my car at work"): by 5-fold cross-validation this
        takes the line off one calm message in ten that had it, and no danger-now one."""
        th = self.thresholds
        return (
            reply.kind is ReplyKind.ANSWER
            and reply.intent is not None
            and not self.intents[reply.intent].after_999
            and reply.confidence >= th.answer_sure
            and verdict.danger < th.danger_unsure_answered
        )

    def assess(
        self,
        cleaned: str,
        words: str,
        vector: Vector | None,
        vote: Vector | None = None,
    ) -> SafetyVerdict:
        return assess(
            self.safety, self.content.danger, self.thresholds, cleaned, words, vector, vote
        )

    def _match(self, text: str, ranked: tuple[Candidate, ...]) -> Reply:
        top = ranked[0]
        th = self.thresholds
        if self.intents[top.intent].outcome is Outcome.FALLBACK and top.score >= th.suggest:
            return replace(
                self._fallback(text, ranked, f"'{top.intent}' is an out-of-scope intent"),
                intent=top.intent,
                html=self.rendered[top.intent],
            )
        answerable = [c for c in ranked if self._is_answerable(c.intent)]
        best = answerable[0] if answerable else top
        if not answerable or best.score < th.suggest:
            return self._fallback(
                text, ranked, f"top score {best.score:.3f} < suggest {th.suggest}"
            )
        close = [
            c for c in answerable if c.score >= th.suggest and best.score - c.score <= th.margin
        ]
        if best.score >= th.answer and len(close) == 1:
            why = f"score {best.score:.3f} >= answer {th.answer}, runner-up over {th.margin} behind"
            return Reply(
                question=text,
                kind=ReplyKind.ANSWER,
                intent=best.intent,
                confidence=best.score,
                html=self.rendered[best.intent],
                ranked=ranked,
                decided_by=why,
            )
        why = (
            f"runner-up within margin {th.margin}"
            if best.score >= th.answer
            else f"score {best.score:.3f} between suggest {th.suggest} and answer {th.answer}"
        )
        return self._suggest(text, close[:SUGGESTION_LIMIT], ranked, why)

    def top_label(self, text: str) -> tuple[str, float]:
        """The best label before thresholds, for calibration: an intent id, ``emergency``
        or ``crisis`` (the safety check), or ``none`` (an out-of-scope intent)."""
        cleaned = clean(text)
        words = self.normalise.canonical(cleaned)
        if not words:
            return "none", float("-inf")
        vectors = self._encode([words])
        vector = None if vectors is None else vectors[0]
        (verdict,) = self._verdicts([text], [cleaned], [words], vectors)
        if verdict.safety is Safety.DANGER_NOW:
            return "emergency", float("inf")
        if verdict.safety is Safety.CRISIS and self._crisis_id:
            return "crisis", float("inf")
        scores = self._scores(words, vector, self._endings([text]).get(0))
        best = int(np.argmax(scores))
        intent = self.intents[self._ids[best]]
        if intent.outcome is Outcome.FALLBACK:
            return "none", float("-inf")
        return intent.id, float(scores[best])

    def _encode(self, texts: list[str], *, keep: bool = False) -> Vector | None:
        if self.encoder is None or not texts:
            return None
        return self.encoder.encode(texts, keep=keep)

    def _fact_keywords(self, intent_id: str) -> list[str]:
        """The web addresses, emails and long phone numbers an answer gives: a resident who
        pastes one ("is report-it.org.uk legit") is asking about that answer's topic."""
        found = []
        for fact_id, field in answers.REFERENCE.findall(self.intents[intent_id].answer):
            fact = self.content.facts.get(fact_id)
            value = fact.values.get(field) if fact else None
            if value is None or value.kind is FactKind.TEXT:
                continue
            if value.kind is FactKind.PHONE and len(digits(value.value)) < 6:
                continue  # 101, 999: in too many messages to point anywhere
            found.append(link_key(value.value) if value.kind is FactKind.WEB else value.value)
        return found

    def _id_of(self, outcome: Outcome) -> str | None:
        return next((i.id for i in self.intents.values() if i.outcome is outcome), None)

    def _safety_examples(self, content: Content) -> tuple[list[str], list[SafetyLabel]]:
        """The safety corpus, with the emergency and crisis intents' own examples."""
        texts: list[str] = []
        labels: list[SafetyLabel] = []
        for label in SafetyLabel:
            texts.extend(content.safety.of(label))
            labels.extend([label] * len(content.safety.of(label)))
        for intent in content.intents.values():
            own = _SAFETY_LABEL_OF.get(intent.outcome)
            if own is not None:
                texts.extend((*intent.examples, *intent.keywords))
                labels.extend([own] * (len(intent.examples) + len(intent.keywords)))
        return texts, labels

    @staticmethod
    def _all_phrases(content: Content) -> list[str]:
        phrases = [t for i in content.intents.values() for t in (*i.examples, *i.keywords)]
        phrases.extend(t for label in SafetyLabel for t in content.safety.of(label))
        phrases.extend(p.replace("/", " ").replace("*", " ") for p in content.danger.phrases())
        return phrases

    def explain(self, text: str) -> str:
        """Why a message gets its outcome: for admins tuning examples and thresholds."""
        reply = self.respond(text)
        cleaned = clean(text)
        words = self.normalise.canonical(cleaned)
        (verdict,) = self._verdicts([text], [cleaned], [words], self._encode([words]))
        th = self.thresholds
        lines = [
            f'Read as: "{words}"',
            f"Language: {reply.language or 'cannot tell'}",
            f"Outcome: {reply.kind.value}" + (f" → {reply.intent}" if reply.intent else ""),
            f"Decided by: {reply.decided_by}",
            f"Safety check: {verdict.safety.value} (danger {verdict.danger:.3f}, "
            f"crisis {verdict.crisis:.3f}){'; ' + verdict.why if verdict.why else ''}",
        ]
        if _ending(text):
            lines.append(
                f"Long message: topics also scored on its last {ENDING_CHARS} characters, "
                "each keeping its better score"
            )
        for candidate in reply.ranked[:3]:
            examples = self._examples.get(candidate.intent, [])
            best = process.extractOne(words, [e[0] for e in examples], scorer=fuzz.token_set_ratio)
            example = f' — nearest example: "{examples[best[2]][1]}"' if best else ""
            lines.append(f"{candidate.intent}: {candidate.score:.3f}{example}")
        lines.append(
            f"Thresholds: answer {th.answer}, suggest {th.suggest}, margin {th.margin}; "
            f"danger {th.danger} (unsure from {th.danger_unsure}), crisis {th.crisis}"
        )
        return "\n".join(lines)

    def answer_for(self, intent_id: str) -> Reply | None:
        """The reply for a topic chosen from a menu or a suggestion button."""
        intent = self.intents.get(intent_id)
        if intent is None:
            return None
        kind = {
            Outcome.ANSWER: ReplyKind.ANSWER,
            Outcome.EMERGENCY: ReplyKind.EMERGENCY,
            Outcome.FALLBACK: ReplyKind.FALLBACK,
            Outcome.CRISIS: ReplyKind.CRISIS,
        }[intent.outcome]
        return Reply(
            question=intent.title,
            kind=kind,
            intent=intent.id,
            confidence=1.0,
            html=self.rendered[intent.id],
            decided_by="chosen by the resident",
        )

    # -- outcomes

    def _card(self, text: str, language: str | None) -> Reply | None:
        """The card in the resident's language; when its danger words match, the card (999
        line first) is followed by the English emergency reply. A message not told apart
        as English or a card language is still read for every card language's danger
        words: someone in danger writes short and without accents. None: answer in English."""
        if language == ENGLISH:
            return None
        if language in self.cards:
            danger = self._card_danger[language].match(text)
        else:
            language, danger = next(
                (
                    (code, found)
                    for code, words in self._card_danger.items()
                    if (found := words.match(text))
                ),
                (language, None),
            )
            if danger is None or language is None:
                return None
        if danger is None:
            return Reply(
                question=text,
                kind=ReplyKind.CARD,
                intent=None,
                confidence=1.0,
                html=self.cards[language],
                language=language,
                decided_by=f"written in '{language}': its language card",
            )
        english = self.rendered[self._emergency_id] if self._emergency_id else DANGER_PROMPT
        return Reply(
            question=text,
            kind=ReplyKind.EMERGENCY,
            intent=self._emergency_id,
            confidence=1.0,
            html=f"{self.cards[language]}\n\n{english}",
            language=language,
            decided_by=f"'{language}' danger phrase '{danger}'",
        )

    def _is_answerable(self, intent_id: str) -> bool:
        return self.intents[intent_id].outcome is Outcome.ANSWER

    def _fallback(self, text: str, ranked: tuple[Candidate, ...], why: str) -> Reply:
        top = ranked[0]
        return Reply(
            question=text,
            kind=ReplyKind.FALLBACK,
            intent=None,
            confidence=top.score,
            html=self._fallback_html,
            ranked=ranked,
            decided_by=why,
        )

    def _suggest(
        self,
        text: str,
        close: list[Candidate],
        ranked: tuple[Candidate, ...],
        why: str,
    ) -> Reply:
        """The likeliest topic's answer, with the other close topics offered below it.
        On blind rounds of residents' messages the likeliest answer named the right route
        in 30 of 33 such replies, so it is shown rather than a bare "Did you mean"."""
        best, others = close[0], close[1:]
        also = OTHER_TOPICS if others else ASK_AGAIN
        return Reply(
            question=text,
            kind=ReplyKind.SUGGEST,
            intent=best.intent,
            confidence=ranked[0].score,
            suggestions=tuple(c.intent for c in others),
            html=f"{self.rendered[best.intent]}\n\n{also}",
            ranked=ranked,
            decided_by=why,
        )

    def _emergency(
        self,
        text: str,
        scores: npt.NDArray[np.float32],
        ranked: tuple[Candidate, ...],
        verdict: SafetyVerdict,
    ) -> Reply:
        # The likeliest topic's answer follows the 999 reply only if its staff marked it
        # 'after_999': "report it online" or the law on knives would only distract.
        masked = np.where(self._answerable, scores, -np.inf)
        best = int(np.argmax(masked)) if self._answerable.any() else -1
        follow_up = None
        if best >= 0 and masked[best] >= self.thresholds.answer and self._after_999[best]:
            follow_up = self._ids[best]
        parts = [self.rendered[self._emergency_id]] if self._emergency_id else [DANGER_PROMPT]
        if follow_up:
            parts.append(self.rendered[follow_up])
        return Reply(
            question=text,
            kind=ReplyKind.EMERGENCY,
            intent=self._emergency_id,
            confidence=verdict.danger,
            html="\n\n".join(parts),
            follow_up=follow_up,
            ranked=ranked,
            decided_by=verdict.why,
        )

    def _crisis(
        self, text: str, intent_id: str, ranked: tuple[Candidate, ...], verdict: SafetyVerdict
    ) -> Reply:
        return Reply(
            question=text,
            kind=ReplyKind.CRISIS,
            intent=intent_id,
            confidence=verdict.crisis,
            html=self.rendered[intent_id],
            ranked=ranked,
            decided_by=verdict.why,
        )


def _checked_note(intent: Intent) -> str:
    if not (intent.dated and intent.checked):
        return ""
    return f"\n<i>Last checked {intent.checked.day} {intent.checked:%B %Y}.</i>"
