# FastAudio: one image for every role (web, API, worker, Flower, or all-in-one); compose picks the command.
#
#   docker build -t fastaudio .                       CPU image (the default target)
#   docker build -t fastaudio:gpu --target gpu .      GPU workers (CUDA 12 / cuDNN 9 libraries added)
#
# torch==2.13.0 on PyPI is the multi-GB CUDA build for Linux; to get the CPU build, pass PyTorch's
# CPU wheel index: --build-arg TORCH_INDEX_URL=<that index>. faster-whisper's GPU path runs on
# CTranslate2 and does not need a CUDA torch either.
# See docs/DEPLOY.md (this file is not built by the test suite: no Docker where it runs).

FROM python:3.11-slim AS base
ARG TORCH_INDEX_URL
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    API_HOST=0.0.0.0
WORKDIR /app
COPY requirements.txt ./
RUN pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -r requirements.txt
COPY . .
RUN useradd --create-home --uid 1000 fastaudio && mkdir -p /data && chown fastaudio /data
USER fastaudio
EXPOSE 8000 8501 5555
# All-in-one (Redis embedded if REDIS_URL does not answer, a worker, the pages, the API). It listens on
# 0.0.0.0 inside the container, so it refuses to start without a sign-in: pass PAGES_USERS (from
# `python -m cli hash-password NAME`), or PUBLISHED_ADDRESS=127.0.0.1 with the port published on 127.0.0.1 only
# (docker run -p 127.0.0.1:8501:8501 ...). See docs/RELIABILITY.md, "Security".
CMD ["python", "-m", "cli", "run", "--address", "0.0.0.0"]

FROM base AS gpu
ARG TORCH_INDEX_URL
USER root
COPY requirements-gpu.txt ./
RUN pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -r requirements-gpu.txt
ENV ENABLE_GPU=true \
    LD_LIBRARY_PATH=/usr/local/lib/python3.11/site-packages/nvidia/cublas/lib:/usr/local/lib/python3.11/site-packages/nvidia/cudnn/lib
USER fastaudio
CMD ["celery", "-A", "worker.celery_app", "worker", "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork"]

FROM base AS cpu
