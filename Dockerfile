# Hertfordshire community safety assistant: the Telegram bot.
#   docker build -t herts-safety-bot .
#   docker run -d --name herts-bot -e TELEGRAM_BOT_TOKEN=... -e ADMIN_IDS=... \
#       -v herts-bot-data:/data herts-safety-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.sqlite3 \
    INTENTS_DIR=/app/intents \
    KNOWLEDGE_DIR=/app/knowledge \
    HEALTH_FILE=/tmp/bot-alive

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && useradd --system --uid 10001 --home-dir /app bot \
    && mkdir -p /data && chown bot /data
COPY intents ./intents
COPY knowledge ./knowledge

USER bot
VOLUME ["/data"]
# The bot touches HEALTH_FILE while its event loop runs; stale for 2 minutes = unhealthy.
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os,sys,time; f=os.environ['HEALTH_FILE']; sys.exit(0 if os.path.exists(f) and time.time()-os.path.getmtime(f) < 120 else 1)"
CMD ["python", "-m", "bot", "run"]
