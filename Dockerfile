# FRT Evidence as a website: the database built from the text in this repository, served by
# Datasette with the project's metadata, plugins, templates and stylesheet, plugins pinned in
# pyproject.toml. Build and run:
#   docker build -t frt-evidence .
#   docker run -p 8001:8001 frt-evidence        # then open http://127.0.0.1:8001/
# Cloud Run, Fly.io and the like set PORT; behind their HTTPS proxy, permanent URLs stay https.
# The map's tiles come from OpenStreetMap's servers (FRT_MAP_TILES=online; plugins/map_tiles.py):
# run with -e FRT_MAP_TILES=offline for the basemap bundled in the image, down to country scale.
FROM python:3.11-slim

WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 FRT_MAP_TILES=online
COPY . .
RUN pip install . \
    && python -m pipelines.build --db data/evidence.db \
    && python -m publish.releases --db data/evidence.db --releases releases

EXPOSE 8001
CMD datasette serve -i data/evidence.db -m metadata.yml --plugins-dir plugins --template-dir templates --static assets:static --static releases:releases --setting suggest_facets off --setting facet_time_limit_ms 1000 --host 0.0.0.0 --port "${PORT:-8001}" --setting force_https_urls "${FORCE_HTTPS_URLS:-off}"
