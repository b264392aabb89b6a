"""Answering: a resident's words in, a Reply out (normalising, classifier, engine, reload).

Owns: the normaliser, the classifier, the engine and its Reply, live reload, evaluation.
May import: bot.content, bot.text and bot.settings (never storage, telegram or the CLI).
"""
