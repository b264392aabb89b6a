# Hertfordshire community safety assistant: the Telegram bot.
#   docker build -t herts-safety-bot .
#   docker run -d --name herts-bot -e TELEGRAM_BOT_TOKEN=... -e ADMIN_IDS=... \
#       -v herts-bot-data:/data herts-safety-bot
# It runs `serve`: Telegram, and the web chat on port 8080 when WEB_CHAT_PORT is set
# (`-e WEB_CHAT_PORT=8080 -p 8080:8080`). Without a token it prints one line and exits with
# status 2 (never a terminal chat, which would read end-of-file and restart in a loop).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.sqlite3 \
    XDG_CACHE_HOME=/data/cache \
    INTENTS_DIR=/app/intents \
    KNOWLEDGE_DIR=/app/knowledge \
    HEALTH_FILE=/tmp/bot-alive \
    WEBHOOK_PORT=8443 \
    WEB_CHAT_LISTEN=0.0.0.0

# Built in /src, which is removed: the bot runs from site-packages, never from a source
# folder in its working directory. /app holds the content folders (mount your own there).
WORKDIR /src
# Dependencies first, in their own layer: changing code or content does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY setup.py MANIFEST.in README.md ./
COPY bot ./bot
COPY intents ./intents
COPY knowledge ./knowledge
RUN pip install --no-deps . \
    && mkdir -p /app /data && cp -r intents knowledge /app/ && cd / && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /app bot && chown bot /data
# The home folder (/app) is read-only to the bot: caches (the encoder's example vectors and
# trained models, onnxruntime's own) go to the volume: XDG_CACHE_HOME above.
WORKDIR /app

USER bot
VOLUME ["/data"]
# The webhook server (when WEBHOOK_URL and WEBHOOK_SECRET are set; polling needs no port).
EXPOSE 8443
# The web chat (when WEB_CHAT_PORT=8080 is set).
EXPOSE 8080
# The bot rewrites HEALTH_FILE while its event loop runs ("active", "standby", or
# "active; question log unavailable since ..."); `health` prints it and fails when it is
# 2 minutes old.
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]
CMD ["python", "-m", "bot", "serve"]
