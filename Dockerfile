# TorchCanvas: one image for the web server, the Celery workers and beat (docker-compose.yml).
#
# Two stages: `canvas` builds the canvas island (frontend/, React + Vite) into static/dist/, which is not in
# git; the final stage installs the Python code and copies that build in, so `docker compose up --build`
# from a clean clone serves a working canvas.
#
# The exact versions come from constraints.txt and frontend/package-lock.json (the locks). torch comes from
# the index in TORCH_INDEX_URL: the CPU build by default; for GPU workers build with a CUDA index that matches
# the host's driver, e.g.
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t torchcanvas:gpu .
# (pip picks torch==2.13.0+cu128 there: the lock's `torch==2.13.0` admits any local build of that version).

FROM node:20-slim AS canvas
WORKDIR /src/frontend
# Packages first (a layer that changes only with the lock), then the sources; Vite writes ../static/dist.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (a layer that changes only with the lock), then the code.
COPY pyproject.toml constraints.txt README.md ./
COPY codegen/ codegen/
COPY graphs/ graphs/
COPY training/ training/
COPY torchcanvas_site/ torchcanvas_site/
RUN pip install --extra-index-url "$TORCH_INDEX_URL" -c constraints.txt .

COPY . .
COPY --from=canvas /src/static/dist/ static/dist/
RUN useradd --create-home --uid 1000 torchcanvas \
    && mkdir -p var/static var/artifacts var/datasets var/checkpoints \
    && chown -R torchcanvas var
USER torchcanvas

EXPOSE 8000
# docker-compose.yml's web service runs migrations first, then this (README, "Configuration").
CMD ["uvicorn", "torchcanvas_site.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
