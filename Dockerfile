# tagungsbot: offline Q&A over conference documents.
# Build: docker build -t tagungsbot .   Run: docker run -p 8000:8000 tagungsbot
# The store is built at image build time from corpus/; mount another corpus and run
# `tagungsbot ingest` (or the admin re-index) to serve other documents.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TAGUNGSBOT_CORPUS_DIR=/app/corpus \
    TAGUNGSBOT_INDEX_DIR=/app/vectorstore/index \
    TAGUNGSBOT_MODEL_CACHE=/app/.models \
    TAGUNGSBOT_DATA_DIR=/app/data \
    TAGUNGSBOT_HOST=0.0.0.0 \
    TAGUNGSBOT_PORT=8000 \
    TAGUNGSBOT_PROGRESS=0

WORKDIR /app

# The English-German dictionary for English questions (service/translation.py).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends trans-de-en \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --no-create-home --home-dir /app tagungsbot

# Dependencies only from the hashed lock (README.md, "Dependency locks"): pip refuses any
# file whose SHA-256 is not in it. torch is the CPU build 2.13.0+cpu, which only PyTorch's
# CPU index carries (not a CUDA build of several GB); everything else comes from PyPI.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps \
        --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.lock \
    && pip check

# The project itself: no dependencies of its own, built with the locked setuptools.
COPY pyproject.toml README.md ./
COPY vectorstore vectorstore
COPY ingest ingest
COPY service service
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

COPY corpus corpus
RUN tagungsbot ingest --no-progress \
    && install -d -m 0700 -o 10001 -g 10001 /app/data \
    && chown -R 10001:10001 /app/vectorstore/index /app/.models

# Feedback, unanswered questions and the answer-id secret (one SQLite file): keep it on a volume,
# e.g. docker run -v tagungsbot-data:/app/data ...
VOLUME ["/app/data"]

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["tagungsbot", "serve"]
