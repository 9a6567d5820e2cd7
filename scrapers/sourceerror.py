"""Stopping a spider on a source it does not recognise, with the reason counted and kept.

A spider that finds something other than what it expects (an HTML error page where a CSV should
be, renamed columns, an archive it cannot read) calls `stop`: the reason is counted under
frt/source_error/<reason>, the message is kept in frt/source_error_message for the run's
monitors and the nightly summary, logged, and the spider closes with that reason.
"""

from scrapy.exceptions import CloseSpider


def stop(spider, reason: str, message: str):
    spider.crawler.stats.inc_value(f"frt/source_error/{reason}")
    spider.crawler.stats.set_value("frt/source_error_message", message)
    spider.logger.error(message)
    raise CloseSpider(reason)
