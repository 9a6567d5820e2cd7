"""Retrying only what asking again can mend, after a wait: backoff, Retry-After, and a clear give-up.

Scrapy's RetryMiddleware retries at once and does not read Retry-After. This subclass of it:
- retries the statuses of RETRY_HTTP_CODES (the project sets 408, 429, 502, 503 and 504: "too
  many requests", "not now", a gateway that failed) and the network failures of RETRY_EXCEPTIONS
  (a timeout, a connection reset, a body cut short), RETRY_TIMES times. A 404 or a 500 is an
  answer that asking again will not change: it is not retried, and the run fails on it;
- waits before each retry, without holding up other requests (asyncio.sleep): the Retry-After
  the source sent (seconds or an HTTP date), else FRT_RETRY_BACKOFF_BASE seconds doubled at each
  retry (1×, 2×, 4×...), at most FRT_RETRY_BACKOFF_MAX;
- gives up at once when Retry-After asks for more than FRT_RETRY_AFTER_MAX seconds, and keeps that
  in frt/http/last_error, which the run's reason quotes (scrapers/monitors.py), as it keeps the
  network failure it gave up on after its retries;
- counts under frt/http/given_up a request lost to a failure it does not retry (a download
  cancelled for passing DOWNLOAD_MAXSIZE), so that the run fails saying why rather than on the
  items it did not get. A request robots.txt forbids is the robots monitor's to report.
"""

import asyncio
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, ResponseDataLossError
from scrapy.utils.response import response_status_message

UNSAID = {ResponseDataLossError: "the connection closed before the body reached its Content-Length"}


def retry_after(value: bytes | None, now: datetime | None = None) -> float | None:
    """The seconds a Retry-After header asks to wait (0 for a date gone by); None if there is none
    or it is neither a number of seconds nor an HTTP date."""
    text = (value or b"").decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, math.ceil((when - (now or datetime.now(UTC))).total_seconds()))


class BackoffRetry(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("FRT_RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("FRT_RETRY_BACKOFF_MAX")
        self.wait_max = settings.getfloat("FRT_RETRY_AFTER_MAX")

    def backoff(self, request) -> float:
        """The wait before the next retry of request when the source named none."""
        return min(self.backoff_max, self.backoff_base * 2 ** request.meta.get("retry_times", 0))

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = retry_after(response.headers.get("Retry-After"))
        if asked is not None and asked > self.wait_max:
            self.crawler.stats.set_value("frt/http/last_error", (
                f"HTTP {response.status} from {response.url} with Retry-After {asked:.0f} s, more than "
                f"the {self.wait_max:.0f} s a run waits: not retried"))
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await asyncio.sleep(self.backoff(request) if asked is None else asked)
        return retry

    async def process_exception(self, request, exception):
        if isinstance(exception, IgnoreRequest):
            return None
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            self.crawler.stats.inc_value("frt/http/given_up")
            return None
        retry = self._retry(request, exception)
        if retry is None:
            detail = str(exception) or UNSAID.get(type(exception), "no detail")
            self.crawler.stats.set_value("frt/http/last_error", (
                f"{type(exception).__name__} on {request.url} after "
                f"{request.meta.get('retry_times', 0)} retries: {detail}"))
            return None
        await asyncio.sleep(self.backoff(request))
        return retry
