# unspin: the CLI and the HTTP service in one image.
# Build:  docker build -t unspin .            (n-gram model only, works offline)
#         docker build --build-arg MODEL=distilroberta-base -t unspin .   (bakes a masked LM in)
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index mythes-en-us \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
# torch is pinned; point PIP_EXTRA_INDEX_URL at a CPU-only wheel index to keep the image small.
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install torch==2.13.0 && pip install .

# Optional: bake a transformer model's weights in at build time; the container never downloads.
ARG MODEL=""
RUN if [ -n "$MODEL" ]; then \
      python -c "import sys; from transformers import AutoModelForMaskedLM, AutoTokenizer; m=sys.argv[1]; AutoTokenizer.from_pretrained(m).save_pretrained('/models/lm'); AutoModelForMaskedLM.from_pretrained(m).save_pretrained('/models/lm')" "$MODEL"; \
    fi
ENV UNSPIN_MODEL=/models/lm UNSPIN_LM=auto HF_HUB_OFFLINE=1 UNSPIN_CACHE_DIR=/app/cache

RUN useradd --create-home unspin && mkdir -p /app/cache && chown unspin /app/cache
USER unspin
# Build the caches (n-gram bigram index, WordNet folder, word vectors) once, at build time.
RUN python -c "from service.engine import build_engine; from service.config import get_settings; build_engine(get_settings())"
ENTRYPOINT ["unspin"]
CMD ["score", "--help"]
