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
    TAGUNGSBOT_HOST=0.0.0.0 \
    TAGUNGSBOT_PORT=8000 \
    TAGUNGSBOT_PROGRESS=0

WORKDIR /app

# The English-German dictionary for English questions (service/translation.py).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends trans-de-en \
    && rm -rf /var/lib/apt/lists/*

# A non-root user, and the CPU build of torch first, so the package install below
# does not pull a CUDA build of several GB.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app tagungsbot \
    && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY vectorstore vectorstore
COPY ingest ingest
COPY service service
RUN pip install --no-cache-dir .

COPY corpus corpus
RUN tagungsbot ingest --no-progress \
    && chown -R 10001:10001 /app/vectorstore/index /app/.models

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["tagungsbot", "serve"]
