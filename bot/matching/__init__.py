"""Answering: a resident's words in, a Reply out (normalising, classifier, engine, reload).

Owns: the normaliser, the classifier, the engine and its Reply, live reload, evaluation.
May import: bot.content and bot.text (never bot.app, storage, settings or a channel).
"""
