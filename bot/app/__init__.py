"""The application layer: what the bot does, whatever the channel.

``assembly`` builds it once from the settings (content → encoder → engine → question log);
``assistant`` is the one asynchronous way into answering, for every channel; ``staff`` is
the staff's work on the question log and the content (review, draft, publish, audit,
stats, reports); ``database`` migrates and inspects the question log's database.
Channels (Telegram, the terminal chat, the command line) only parse input and format
output over it.

Owns: the assembly, the one way into answering (batched in a worker thread), the review
policy and the other staff tasks.
May import: bot.storage, bot.matching, bot.content, bot.text, bot.settings (never a
channel: bot.telegram, bot.console, bot.cli, bot.entry).
"""
