"""The Telegram channel: python-telegram-bot's Application over the application layer.

Owns: the Application's assembly, resident and admin handlers (one per command and per
button family), the typed per-update context, sending and keyboards, rate limits, texts,
the durable inbox, the webhook server, standby and health.
May import: bot.app (answering, the question log, staff tasks), bot.matching, bot.storage,
bot.content, bot.text, bot.settings (never the CLI, the console or bot.entry).
"""
