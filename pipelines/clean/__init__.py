"""What a crawl does to each record: validate it, normalise its dates, places and organisations, give
it its ids."""
