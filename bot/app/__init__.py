"""The application layer: what the bot does, whatever the channel.

``assembly`` builds it once from the settings (content → encoder → engine → question log);
``assistant`` is the one asynchronous way into answering, for every channel; ``staff`` is
the staff's work on the question log and the content (review, draft, publish, audit,
stats, reports); ``database`` migrates and inspects the question log's database.
Channels (Telegram, the terminal chat, the command line) only parse input and format
output over it; this package never imports a channel.
"""
