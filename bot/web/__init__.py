"""The web chat: a page, an embeddable launcher (``widget.js``) and a JSON API over the
application layer, as the Telegram channel is. Answers, the safety check, language cards,
the question log, feedback and reload are the application layer's; this package only
reads requests, guards them and turns replies into sanitised HTML and buttons.

Owns: the web server (Starlette under uvicorn), its routes and security headers, the
per-session and per-address limits, the HTML allow-list, and the static page.
May import: bot.app, bot.matching, bot.storage, bot.content, bot.settings (never another
channel: bot.telegram, bot.console, bot.cli, bot.entry).
"""
