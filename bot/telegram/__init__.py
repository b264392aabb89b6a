"""The Telegram adapter: python-telegram-bot's Application over the engine and the store.

Owns: app assembly, resident and admin handlers, sending and keyboards, rate limits, texts.
May import: bot.matching, bot.storage, bot.content, bot.text, bot.settings (not the CLI).
"""
