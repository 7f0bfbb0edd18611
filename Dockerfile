# The bot in a container. Build: docker build -t kokemusvalitys .
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY scheduler scheduler
COPY storage storage
RUN pip install --no-cache-dir . && useradd --system --home /app kv && mkdir -p /app/data \
    && chown kv /app/data
USER kv
# Settings come from the environment (see .env.example); migrations run at start-up.
CMD ["python", "-m", "bot"]
