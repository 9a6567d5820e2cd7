"""Where each item stood in its source, so that a run's records are committed in source order.

A spider middleware stamps every item a callback yields with its position: the URL, method and
body digest of the response's request, then the item's rank among that response's items. The
run sorts its records by position before building the snapshot, so a single process and several
distributed workers, which see responses in different orders, commit the same snapshot.
"""

import hashlib

from scrapy import Request

POSITION = "_frt_position"


def position(item) -> tuple | None:
    return getattr(item, POSITION, None)


def _stamp(response, rank: int, item) -> None:
    request = response.request
    body = hashlib.sha1((request.body if request else b"") or b"").hexdigest()[:16]
    setattr(item, POSITION, (response.url, request.method if request else "GET", body, rank))


class SourceOrder:
    def process_spider_output(self, response, result):
        rank = 0
        for element in result:
            if not isinstance(element, Request):
                _stamp(response, rank, element)
                rank += 1
            yield element

    async def process_spider_output_async(self, response, result):
        rank = 0
        async for element in result:
            if not isinstance(element, Request):
                _stamp(response, rank, element)
                rank += 1
            yield element
