"""The question log: the store interface, the SQLite and PostgreSQL stores (sharing
one queue and one SQL, in queued), the active instance's lock (active), redaction and
admin reports.

Owns: what is kept about messages and feedback, and how it is read back for staff; the
inbox of Telegram updates (by bot and update id, for 24 hours) that the channel answers.
May import: bot.matching (the Reply it logs) and bot.text (never telegram or settings).
"""
