# TorchCanvas: one image for the web server, the Celery workers and beat (docker-compose.yml).
#
# The exact versions come from constraints.txt (the lock). torch comes from the index in TORCH_INDEX_URL:
# the CPU build by default; for GPU workers build with a CUDA index that matches the host's driver, e.g.
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t torchcanvas:gpu .
# (pip picks torch==2.13.0+cu128 there: the lock's `torch==2.13.0` admits any local build of that version).
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
RUN useradd --create-home --uid 1000 torchcanvas \
    && mkdir -p var/static \
    && chown -R torchcanvas var
USER torchcanvas

EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "torchcanvas_site.asgi:application"]
