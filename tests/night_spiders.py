"""Two more sources for the test night (tests/test_night.py): the real spiders under other names.

They parse exactly as the Atlas and AIID spiders do and are fed SYNTHETIC captures from
tests/fixtures, so a night can have four sources with their own snapshots and run logs.
"""

from scrapers.spiders.aiid import AiidSpider
from scrapers.spiders.atlas import AtlasSpider


class ExampleAtlasSpider(AtlasSpider):
    name = "example_atlas"


class ExampleAiidSpider(AiidSpider):
    name = "example_aiid"
