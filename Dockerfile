# The LaunchPad image: the API (`launchpad serve`) and the workers (`launchpad worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: templates from repositories (`gh:`, URLs), updates, publishing to a forge
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY plugins ./plugins
# the app (with boto3 for artifacts in a bucket) and the first-party plugins
RUN pip install ".[s3]" plugins/*/ \
    && useradd --system --uid 10001 --home-dir /data --no-create-home launchpad \
    && mkdir -p /data \
    && chown launchpad /data

USER launchpad
ENV LAUNCHPAD_DATA_DIR=/data \
    LAUNCHPAD_HOST=0.0.0.0 \
    LAUNCHPAD_PORT=8000
VOLUME ["/data"]
EXPOSE 8000
CMD ["launchpad", "serve"]
