"""The HTTP cache policy of scheduled runs: revalidate every time, never hide a server error.

Scrapy's RFC2616Policy keeps responses that carry a validator (ETag or Last-Modified) and, once
they are stale, asks again with If-None-Match / If-Modified-Since; a "304 Not Modified" then
costs no body. Two things differ here. A night must ask the source every time (a heuristic
freshness of days would hide a change), so every cached response counts as stale and is
revalidated. And neither a server error nor a failed download is answered from the cache
(RFC2616Policy would serve the stored copy on a 5xx, and HttpCacheMiddleware serves it when the
download times out or the connection is lost): the run must see the error, retry it
(scrapers/retry.py) and, if it lasts, say so; the snapshot then keeps the last good rows anyway.
"""

from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.extensions.httpcache import RFC2616Policy


class RevalidatingPolicy(RFC2616Policy):
    def is_cached_response_fresh(self, cachedresponse, request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False

    def is_cached_response_valid(self, cachedresponse, response, request) -> bool:
        return response.status == 304


class NoStaleOnFailure(HttpCacheMiddleware):
    """HttpCacheMiddleware that never answers a failed download with the cached copy."""

    DOWNLOAD_EXCEPTIONS = ()
