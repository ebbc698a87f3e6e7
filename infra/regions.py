"""DigitalOcean regions that offer DOKS: the list a region key is checked against.

From DigitalOcean's regional availability matrix (DOKS is offered in every region except the
retired nyc2, ams2 and sfo1 datacenters). `doctl kubernetes options regions` prints the current
list; add a slug here when DigitalOcean opens a region.
"""

DOKS_REGIONS: tuple[str, ...] = (
    "ams3",
    "atl1",
    "blr1",
    "fra1",
    "lon1",
    "nyc1",
    "nyc3",
    "sfo2",
    "sfo3",
    "sgp1",
    "syd1",
    "tor1",
)

# Regions where DigitalOcean Container Registry stores images, from DigitalOcean's own API
# specification (github.com/digitalocean/openapi, specification/resources/registry/models/
# multiregistry_create.yml, `region` enum, as of 2025-07; checked 2026-12). The older
# single-registry create model (registry_create.yml, 2022) lists only nyc3, sfo3, ams3, sgp1, fra1.
# `doctl registry options available-regions` prints the current list.
DOCR_REGIONS: tuple[str, ...] = ("ams3", "blr1", "fra1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1")
